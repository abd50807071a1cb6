"""The sizing advisor (``redis_pool_status --advise``): per alias, from the fleet's snapshots, the
alias's limits in this process and what its server says, what to change and why.

Each rule returns at most one :class:`Advice`, with the numbers it used (``evidence``) and the setting
to write. The rules and their thresholds are documented in docs/status.md ("The sizing advisor").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .view import servers_of

# Processes queue for connections when a pool's wait p99 is above this (milliseconds).
WAIT_P99_MS = 5.0
# A raised MAX_CONNECTIONS: the largest pool peak seen, plus this much headroom.
HEADROOM = 1.5
# A pool whose peak stays at or below this fraction of MAX_CONNECTIONS in every process is too large...
LOW_PEAK_FRACTION = 0.5
# ...judged only when every process has made at least this many checkouts.
MIN_CHECKOUTS_TO_JUDGE = 1000
# Never advise fewer connections than this.
MIN_MAX_CONNECTIONS = 2
# During a rolling deploy, old and new processes hold connections at once: this many times the fleet.
DEPLOY_OVERLAP = 2.0
# Warn when the connections the fleet may open (with the overlap) reach this fraction of maxclients.
MAXCLIENTS_FRACTION = 0.8
# An advised MAX_IDLE: this fraction of the server's timeout.
IDLE_FRACTION = 0.8

WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Advice:
    rule: str
    severity: str  # "warning" or "info"
    message: str
    setting: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Facts:
    """What the rules read of one alias: its part of the fleet view, its limits in this process and
    its server's numbers (``maxclients``, ``connected_clients``, ``timeout``; empty when unknown)."""

    alias: str
    view: Mapping[str, Any]
    limits: Mapping[str, Any]
    server: Mapping[str, Any]


def _setting(alias: str, key: str, value: float) -> str:
    number = int(value) if float(value).is_integer() else value
    return f"REDIS_POOL[{alias!r}][{key!r}] = {number!r}"


def _processes(view: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(view["processes"])


def _pool_limit(row: Mapping[str, Any]) -> int:
    # The MAX_CONNECTIONS the process runs with (summed over its pools in the row), which may differ
    # from this process's during a deploy.
    return int(row["max_connections"]) // max(1, int(row["pools"]))


def raise_max_connections(facts: Facts) -> Advice | None:
    alias, view, limit = facts.alias, facts.view, int(facts.limits["max_connections"])
    queueing = [
        row
        for row in _processes(view)
        if row["exhausted"] > 0
        or (row["waits"] > 0 and row["wait_ms_p99"] > WAIT_P99_MS)
        or row["largest_pool_peak"] >= _pool_limit(row)
    ]
    if not queueing:
        return None
    peak = max(int(row["largest_pool_peak"]) for row in queueing)
    advised = max(limit + 1, math.ceil(max(peak, limit) * HEADROOM))
    names = [f"{row['host']}:{row['pid']}" for row in queueing]
    evidence = {
        "max_connections": limit,
        "processes": len(_processes(view)),
        "processes_queueing": names,
        "largest_pool_peak": peak,
        "wait_ms_p99": max(float(row["wait_ms_p99"]) for row in queueing),
        "waits": sum(int(row["waits"]) for row in queueing),
        "exhausted": sum(int(row["exhausted"]) for row in queueing),
        "wait_p99_threshold_ms": WAIT_P99_MS,
    }
    return Advice(
        "raise_max_connections",
        WARNING,
        f"{len(names)} of {evidence['processes']} process(es) queue for a connection (a pool at its "
        f"limit of {limit}, wait p99 above {WAIT_P99_MS:g} ms, or PoolExhaustedError): raise "
        f"MAX_CONNECTIONS to {advised} (the largest pool peak, {peak}, with {HEADROOM:g}x headroom).",
        _setting(alias, "MAX_CONNECTIONS", advised),
        evidence,
    )


def lower_max_connections(facts: Facts) -> Advice | None:
    alias, rows, limit = facts.alias, _processes(facts.view), int(facts.limits["max_connections"])
    if not rows or any(row["checkouts"] < MIN_CHECKOUTS_TO_JUDGE for row in rows):
        return None
    if any(row["waits"] or row["exhausted"] for row in rows):
        return None
    peak = max(int(row["largest_pool_peak"]) for row in rows)
    advised = max(MIN_MAX_CONNECTIONS, math.ceil(peak * HEADROOM))
    if peak > limit * LOW_PEAK_FRACTION or advised >= limit:
        return None
    evidence = {
        "max_connections": limit,
        "processes": len(rows),
        "largest_pool_peak": peak,
        "fewest_checkouts": min(int(row["checkouts"]) for row in rows),
        "low_peak_fraction": LOW_PEAK_FRACTION,
    }
    return Advice(
        "lower_max_connections",
        INFO,
        f"No pool of the {len(rows)} process(es) ever held more than {peak} of its {limit} connections "
        f"(over at least {evidence['fewest_checkouts']} checkouts each, none waiting): MAX_CONNECTIONS "
        f"= {advised} leaves {HEADROOM:g}x headroom and caps what the fleet can open on the server.",
        _setting(alias, "MAX_CONNECTIONS", advised),
        evidence,
    )


def server_capacity(facts: Facts) -> Advice | None:
    alias, view, server = facts.alias, facts.view, facts.server
    maxclients = server.get("maxclients")
    if not maxclients:
        return None
    limit = int(facts.limits["max_connections"])
    rows = _processes(view)
    # A process may open MAX_CONNECTIONS per pool: per event loop too, but per server, not per
    # Cluster node (each node is a server of its own). One that publishes nothing counts as one pool.
    unpublished = int(view["totals"]["unpublished_processes"])
    per_server = sum(int(row["max_connections"]) // max(1, int(row["nodes"])) for row in rows)
    ceiling = per_server + unpublished * limit
    processes = len(rows) + unpublished
    if not processes or ceiling * DEPLOY_OVERLAP < MAXCLIENTS_FRACTION * maxclients:
        return None
    pools_per_process = max(1.0, ceiling / (processes * limit))
    fitting = math.floor(MAXCLIENTS_FRACTION * maxclients / (DEPLOY_OVERLAP * processes * pools_per_process))
    evidence = {
        "max_connections": limit,
        "processes": processes,
        "fleet_ceiling": ceiling,
        "deploy_overlap": DEPLOY_OVERLAP,
        "maxclients": int(maxclients),
        "connected_clients": server.get("connected_clients"),
        "maxclients_fraction": MAXCLIENTS_FRACTION,
    }
    if fitting >= MIN_MAX_CONNECTIONS:
        setting = _setting(alias, "MAX_CONNECTIONS", fitting)
    else:
        setting = f"maxclients {math.ceil(ceiling * DEPLOY_OVERLAP / MAXCLIENTS_FRACTION)}  # redis.conf"
    return Advice(
        "server_capacity",
        WARNING,
        f"{processes} process(es) may open {ceiling} connections, {ceiling * DEPLOY_OVERLAP:g} while a "
        f"rolling deploy runs old and new ones ({DEPLOY_OVERLAP:g}x), against the server's maxclients "
        f"{maxclients}: past {MAXCLIENTS_FRACTION:.0%} of it new connections risk 'max number of clients "
        "reached'. Lower MAX_CONNECTIONS or raise the server's maxclients.",
        setting,
        evidence,
    )


def max_idle_vs_server_timeout(facts: Facts) -> Advice | None:
    alias, limits, server = facts.alias, facts.limits, facts.server
    timeout = server.get("timeout")
    max_idle = limits.get("max_idle")
    if not timeout or (max_idle is not None and max_idle < timeout):
        return None
    advised = max(1, math.floor(timeout * IDLE_FRACTION))
    idle = "unset" if max_idle is None else f"{max_idle:g}s"
    return Advice(
        "max_idle_vs_server_timeout",
        WARNING,
        f"The server closes clients idle for {timeout:g}s (its timeout) and MAX_IDLE is {idle}: an idle "
        "pooled connection outlives the server's side of it, and the next command on it fails and "
        f"retries. Set MAX_IDLE below the server's timeout, to {advised}s.",
        _setting(alias, "MAX_IDLE", advised),
        {"max_idle": max_idle, "server_timeout": float(timeout), "idle_fraction": IDLE_FRACTION},
    )


def pool_timeout_vs_socket_timeout(facts: Facts) -> Advice | None:
    alias, limits = facts.alias, facts.limits
    socket_timeout = limits.get("socket_timeout")
    if not limits.get("blocking", True) or not socket_timeout:
        return None  # no wait at all, or no bound on a command (the checks warn about that)
    pool_timeout = limits.get("pool_timeout")
    retries = int(limits.get("retries") or 0)
    chain = socket_timeout * (retries + 1)
    if pool_timeout is not None and pool_timeout <= chain:
        return None
    waits = "forever" if pool_timeout is None else f"{pool_timeout:g}s"
    return Advice(
        "pool_timeout_vs_socket_timeout",
        WARNING if pool_timeout is None else INFO,
        f"A caller waits {waits} for a connection (POOL_TIMEOUT), longer than the {chain:g}s the "
        f"slowest command can hold one (SOCKET_TIMEOUT {socket_timeout:g}s x {retries + 1} attempt(s)): "
        "a wait that long is for a leaked or long-held connection, or a pool too small, and the "
        f"request would better fail fast. Set POOL_TIMEOUT to at most {chain:g}s.",
        _setting(alias, "POOL_TIMEOUT", chain),
        {"pool_timeout": pool_timeout, "socket_timeout": float(socket_timeout), "retries": retries},
    )


def _never(servers: list[dict[str, Any]]) -> float | None:
    # 0: every server answered that it never closes idle clients; None: none said.
    return 0.0 if any(server.get("timeout") == 0 for server in servers) else None


def server_of(pool_report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The server numbers the rules read from an alias's status report: its server's, or for a Cluster
    the tightest of its nodes' (the smallest maxclients, the shortest non-zero timeout); None when no
    server answered."""
    servers = [server for server in servers_of(pool_report) if server.get("reachable")]
    if not servers:
        return None
    maxclients = [s["maxclients"] for s in servers if s.get("maxclients")]
    timeouts = [s["timeout"] for s in servers if s.get("timeout")]
    clients = [s["connected_clients"] for s in servers if s.get("connected_clients") is not None]
    return {
        "maxclients": min(maxclients) if maxclients else None,
        "connected_clients": max(clients) if clients else None,
        "timeout": min(timeouts) if timeouts else _never(servers),
    }


Rule = Callable[[Facts], "Advice | None"]
RULES: tuple[Rule, ...] = (
    raise_max_connections,
    lower_max_connections,
    server_capacity,
    max_idle_vs_server_timeout,
    pool_timeout_vs_socket_timeout,
)


def advise(
    alias: str, view: Mapping[str, Any], limits: Mapping[str, Any], server: Mapping[str, Any] | None
) -> list[Advice]:
    """Every rule's advice for one alias: ``view`` its part of :func:`~.view.fleet_view`, ``limits``
    ``_report.status.limits_report(entry)``, ``server`` its server report (``maxclients``,
    ``connected_clients``, ``timeout``) or None."""
    facts = Facts(alias, view, limits, server or {})
    found = (rule(facts) for rule in RULES)
    return [advice for advice in found if advice is not None]
