"""The fleet, per alias: one row per process from the snapshots the processes publish, the fleet's
totals, and the processes that look wrong next to the server's ``CLIENT LIST``.

This is the ``fleet`` section of ``redis_pool_status --format json``; the page and the metrics read
it too. One type per key: counts are int, ``*_ms`` float milliseconds, ``age_s``/``started``/
``published`` float seconds (unix time for the last two).

A process's row merges every pool it holds of the alias: its thread pool(s) (one per Cluster node)
and its asyncio pools (one per event loop, per node). Counts are summed over them. ``peak_in_use``
is the sum of each pool's own peak (an asyncio row's peak is already the highest of its loops):
pools peak at different moments, so it is an upper bound of the connections the process ever held
at once; ``largest_pool_peak`` is the highest peak of any one pool, the number ``MAX_CONNECTIONS``
bounds. ``wait_ms_p50``/``wait_ms_p99`` are the highest of the pools' percentiles (an upper bound:
percentiles do not add up), ``wait_ms_max`` the longest wait of any pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

# Summed over a process's pools, and over the processes for the fleet's totals.
COUNTS = (
    "in_use",
    "idle",
    "waiting",
    "max_connections",
    "peak_in_use",
    "connections_created",
    "checkouts",
    "waits",
    "exhausted",
    "connection_errors",
    "closed_for_age",
    "closed_for_idle",
)
# The highest over the pools (and over the processes).
HIGHEST = ("largest_pool_peak", "wait_ms_p50", "wait_ms_p99", "wait_ms_max")

NO_SNAPSHOT = "no_snapshot"
NO_CONNECTIONS = "no_connections"


class Read(Protocol):
    """What :func:`fleet_view` needs of ``store.read_fleet``'s answer."""

    @property
    def snapshots(self) -> list[dict[str, Any]]: ...

    @property
    def skipped(self) -> list[str]: ...


def process_key(row: Mapping[str, Any]) -> tuple[str, int, float]:
    """(host, pid, started): one process, told apart from an earlier one that had its pid."""
    return (str(row["host"]), int(row["pid"]), float(row["started"]))


def _stat(stats: Mapping[str, Any], key: str) -> Any:
    return stats.get(key) or 0


def process_row(snapshot: Mapping[str, Any], pools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One process's row for one alias, from its snapshot and that alias's pools in it."""
    stats = [pool["stats"] for pool in pools]
    row: dict[str, Any] = {
        "host": str(snapshot["host"]),
        "pid": int(snapshot["pid"]),
        "started": float(snapshot["started"]),
        "role": str(snapshot.get("role", "")),
        "version": str(snapshot.get("version", "")),
        "published": float(snapshot["published"]),
        "age_s": round(float(snapshot.get("age_s", 0.0)), 3),
        "drivers": sorted({str(pool["driver"]) for pool in pools}),
        "nodes": len({pool.get("node", "") for pool in pools}),
        "pools": sum(int(s.get("loops", 1)) for s in stats),
    }
    row.update({key: int(sum(_stat(s, key) for s in stats)) for key in COUNTS})
    row["largest_pool_peak"] = int(max((_stat(s, "peak_in_use") for s in stats), default=0))
    for key in HIGHEST[1:]:
        row[key] = float(max((_stat(s, key) for s in stats), default=0.0))
    row["connections"] = None  # what the server lists for the process, when it is known
    row["flags"] = []
    return row


def totals(rows: Sequence[Mapping[str, Any]], flagged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The fleet's totals over the rows: counts summed, the others the highest."""
    result: dict[str, Any] = {
        "processes": len(rows),
        "unpublished_processes": sum(1 for f in flagged if f["flag"] == NO_SNAPSHOT),
        "pools": sum(int(row["pools"]) for row in rows),
    }
    result.update({key: sum(int(row[key]) for row in rows) for key in COUNTS})
    result["largest_pool_peak"] = max((int(row["largest_pool_peak"]) for row in rows), default=0)
    for key in HIGHEST[1:]:
        result[key] = max((float(row[key]) for row in rows), default=0.0)
    return result


def alias_view(
    snapshots: Iterable[Mapping[str, Any]], alias: str, server: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    """One alias's part of the view: ``processes``, ``totals``, ``flagged`` and ``server_known``."""
    rows = []
    for snapshot in snapshots:
        pools = [pool for pool in snapshot.get("pools", []) if pool.get("alias") == alias]
        if pools:
            rows.append(process_row(snapshot, pools))
    rows.sort(key=process_key)
    flagged: list[dict[str, Any]] = []
    if server is not None:
        listed = {
            (str(p["host"]), int(p["pid"])): int(p["connections"])
            for p in server
            if not p.get("this_process", False)  # the status command's own: it never publishes
        }
        # ...unless it is run in a process that does (call_command in a shell): its row is not orphaned.
        mine = {
            (str(p["host"]), int(p["pid"])): int(p["connections"]) for p in server if p.get("this_process")
        }
        for row in rows:
            key = (row["host"], row["pid"])
            row["connections"] = listed.get(key, mine.get(key, 0))
            if row["connections"] == 0 and row["in_use"] + row["idle"] > 0:
                row["flags"].append(NO_CONNECTIONS)
                flagged.append(_flag(row["host"], row["pid"], NO_CONNECTIONS, 0, row["in_use"] + row["idle"]))
        published = {(row["host"], row["pid"]) for row in rows}
        for (host, pid), connections in sorted(listed.items()):
            if (host, pid) not in published:
                flagged.append(_flag(host, pid, NO_SNAPSHOT, connections, None))
    return {
        "processes": rows,
        "totals": totals(rows, flagged),
        "flagged": flagged,
        "server_known": server is not None,
    }


def _flag(host: str, pid: int, flag: str, connections: int, held: int | None) -> dict[str, Any]:
    if flag == NO_SNAPSHOT:
        message = (
            f"holds {connections} pooled connection(s) on the server but publishes no snapshot "
            "(REDIS_POOL_FLEET not set in that process, another NAMESPACE, or it has not used a pool "
            "since it started)"
        )
    else:
        message = (
            f"its snapshot says it holds {held} connection(s), the server lists none for it (it died "
            "since it published, and its snapshot lasts until its TTL, or it uses another server)"
        )
    return {"host": host, "pid": pid, "flag": flag, "connections": connections, "message": message}


def fleet_view(
    read: Read,
    aliases: Sequence[str],
    server_processes: Mapping[str, Sequence[Mapping[str, Any]] | None] | None = None,
) -> dict[str, Any]:
    """The ``fleet`` section: per alias its processes, totals and flagged processes; the skipped keys.

    ``server_processes``: per alias, the processes the server's ``CLIENT LIST`` shows holding its
    pooled connections (``host``, ``pid``, ``connections``, as ``_report.group_by_process`` gives
    them), or None where they are not known; processes are flagged only against a known listing.
    """
    known = server_processes or {}
    return {
        "aliases": {alias: alias_view(read.snapshots, alias, known.get(alias)) for alias in aliases},
        "snapshots": len(read.snapshots),
        "skipped": list(read.skipped),
    }


def servers_of(pool_report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The server reports of an alias's status report: its server's, or each Cluster node's."""
    found = [pool_report.get("server")] + [node["server"] for node in pool_report.get("nodes") or []]
    return [server for server in found if server is not None]


def server_processes_of(pool_report: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """An alias's status report -> the processes holding its pooled connections, every Cluster node's
    added up; None when a server could not list them (unreachable, ACL, no client names)."""
    servers = servers_of(pool_report)
    if not servers or any(not s.get("reachable") or s.get("processes") is None for s in servers):
        return None
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for server in servers:
        for process in server["processes"]:
            key = (process["host"], process["pid"])
            found = merged.setdefault(key, {**process, "connections": 0})
            found["connections"] += process["connections"]
    return [merged[key] for key in sorted(merged)]
