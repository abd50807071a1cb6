"""A prometheus_client collector of every alias's pool, computed at scrape time (``register()``).

Nothing is counted on the hot path, and ``register()`` sends nothing to Redis (``describe()`` names
the families). A scrape reads this process's pools; with ``REDIS_POOL_FLEET``, every process's
snapshot (:func:`fleet_processes`); and per server one ``CLIENT LIST``, grouped by connection names.
Every pool series carries ``host`` and ``pid``, so one scrape of any worker is the whole fleet. A
failed Redis read becomes ``django_redis_pool_scrape_errors``, never an exception.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from ._conf.fleet import get_fleet_settings
from ._conf.probes import health_timeout
from ._conf.redaction import redact_text
from ._fleet import store
from ._fleet.snapshot import process_started
from ._registry import sync as registry
from ._report import client_list, group_by_process, pool_rows, this_process

if TYPE_CHECKING:
    from ._registry.sync import PoolEntry

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
except ImportError:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "django_redis_pool.metrics needs prometheus_client: pip install 'django-redis-pool[prometheus]'."
    ) from None

logger = logging.getLogger(__name__)

PREFIX = "django_redis_pool"
LABELS = ["host", "pid", "alias", "node", "driver"]
# stats key -> (metric name, help); counters get "_total" from prometheus_client.
GAUGES = {
    "in_use": ("in_use", "Connections checked out of the pool now."),
    "idle": ("idle", "Open connections waiting in the pool."),
    "waiting": ("waiting", "Callers waiting for a connection now."),
    "max_connections": ("max_connections", "MAX_CONNECTIONS of the pool."),
    "peak_in_use": ("peak_in_use", "Most connections checked out at once since the pool was built."),
    "breaker_open": ("breaker_open", "1 while the circuit breaker refuses checkouts, else 0."),
}
COUNTERS = {
    "checkouts": ("checkouts", "Checkouts that got a working connection."),
    "waits": ("waits", "Checkouts that had to wait for a connection."),
    "exhausted": ("exhausted", "Checkouts that gave up: PoolExhaustedError."),
    "connection_errors": ("connection_errors", "Checkouts and probes that failed to reach the server."),
    "connections_created": ("connections_created", "Sockets established, reconnects included."),
    "closed_for_age": ("closed_for_age", "Connections closed for MAX_LIFETIME."),
    "closed_for_idle": ("closed_for_idle", "Connections closed for MAX_IDLE."),
    "leak_warnings": ("leak_warnings", "Connections held longer than LEAK_WARNING."),
    "breaker_opened": ("breaker_opened", "Times the circuit breaker opened."),
    "breaker_refused": ("breaker_refused", "Checkouts refused at once by an open circuit breaker."),
}
# stats key (milliseconds) -> (metric name in seconds, help)
WAIT_GAUGES = {
    "wait_ms_p50": ("wait_p50_seconds", "Median wait for a connection, over the last 1024 waits."),
    "wait_ms_p99": ("wait_p99_seconds", "99th percentile wait for a connection, over the last 1024 waits."),
}
WAIT_COUNTERS = {"wait_ms_total": ("wait_seconds", "Time spent waiting for a connection.")}
EXPORTED = [*GAUGES, *WAIT_GAUGES, *COUNTERS, *WAIT_COUNTERS]

# One process's pools: labels in LABELS order, and the pool's stats.
Row = tuple[list[str], dict[str, Any]]


def process_rows(process: dict[str, Any]) -> list[Row]:
    """The pool rows of one process's snapshot (``host``, ``pid``, ``pools``: alias, node, driver, stats)."""
    host, pid = str(process["host"]), str(int(process["pid"]))
    return [
        (
            [host, pid, str(pool["alias"]), str(pool["node"]), str(pool["driver"])],
            {key: _number(pool["stats"], key) for key in EXPORTED},
        )
        for pool in process["pools"]
    ]


def _number(stats: dict[str, Any], key: str) -> float:
    if key == "breaker_open":  # from the state, a text
        return float(stats["breaker_state"] != "closed")
    return float(stats[key])


def readable(document: dict[str, Any]) -> bool:
    """Whether a snapshot has what the metrics read, in types they can read: a snapshot written by
    another version or by hand is skipped, not allowed to fail the scrape."""
    try:
        process_rows(document)
        float(document["published"]), float(document["started"]), float(document["age_s"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def fleet_processes(snapshots: Iterable[dict[str, Any]], live: dict[str, Any]) -> list[dict[str, Any]]:
    """One process per (host, pid), sorted: the newest snapshot of each (a pid reused on a host leaves
    the old process's snapshot until its TTL, and two series of one host and pid would collide).

    This process (``live``: host, pid, started, pools) is exported from its own published snapshot
    too when there is one, not from its live counters: a scrape through a load balancer reaches any
    worker, and a counter shown live by one scrape and from an older snapshot by the next would go
    backwards, which Prometheus reads as a reset. Its live counters stand in until it publishes."""
    newest: dict[tuple[str, int], dict[str, Any]] = {}
    for document in snapshots:
        key = (str(document["host"]), int(document["pid"]))
        if key not in newest or document["published"] > newest[key]["published"]:
            newest[key] = document
    me = (str(live["host"]), int(live["pid"]))
    if me not in newest or newest[me]["started"] != live["started"]:
        newest[me] = live  # not published yet, or the snapshot of a former process with this pid
    return [newest[key] for key in sorted(newest)]


class PoolCollector(Collector):
    """Every pool of this process and, when ``REDIS_POOL_FLEET`` is set (and ``fleet``), of every
    process that publishes a snapshot: labels ``host``, ``pid``, ``alias``, ``node`` (a Cluster node,
    "" otherwise) and ``driver`` ("sync", or "asyncio" for the alias's asyncio pools of every event
    loop together). With ``server=True``, each server's count of pooled connections per process
    (``CLIENT LIST``). Each Redis read is bounded by ``timeout`` (``REDIS_POOL_HEALTH_TIMEOUT`` when
    None): the fleet read, and the ``CLIENT LIST`` of all servers together."""

    def __init__(self, server: bool = True, timeout: float | None = None, fleet: bool = True) -> None:
        self.server = server
        self.timeout = timeout
        self.fleet = fleet
        self._fleet_failing = False

    def describe(self) -> Iterator[Metric]:
        # prometheus_client's register() asks for the names: without describe() it would run collect(),
        # and every process start (manage.py check, migrate, each worker) would talk to Redis.
        yield from self._pool_metrics([])
        yield from self._fleet_metrics([], None)
        if self.server:
            yield from self._server_metrics([], {})
        yield self._errors_metric({})

    def collect(self) -> Iterator[Metric]:
        timeout = health_timeout() if self.timeout is None else self.timeout
        errors: dict[tuple[str, str], int] = {}
        host, pid = this_process()
        live = {"host": host, "pid": pid, "started": None, "age_s": 0.0, "pools": _own_pools()}
        processes, skipped = [live], None
        found = self._read_fleet(timeout, errors) if self.fleet else None
        if found is not None:
            live["started"] = process_started()
            documents = [document for document in found.snapshots if readable(document)]
            processes = fleet_processes(documents, live)
            skipped = len(found.skipped) + len(found.snapshots) - len(documents)
        rows = [row for process in processes for row in process_rows(process)]
        yield from self._pool_metrics(rows)
        yield from self._fleet_metrics(processes if skipped is not None else [], skipped)
        if self.server:
            yield from self._server_metrics(sorted(registry.entries().items()), errors, timeout)
        yield self._errors_metric(errors)

    def _pool_metrics(self, rows: list[Row]) -> Iterator[Metric]:
        for family, keys, scale in (
            (GaugeMetricFamily, GAUGES, 1),
            (GaugeMetricFamily, WAIT_GAUGES, 1000),
            (CounterMetricFamily, COUNTERS, 1),
            (CounterMetricFamily, WAIT_COUNTERS, 1000),
        ):
            for key, (name, documentation) in keys.items():
                metric = family(f"{PREFIX}_{name}", documentation, labels=LABELS)
                for labels, stats in rows:
                    metric.add_metric(labels, stats[key] / scale)
                yield metric

    def _fleet_metrics(self, processes: list[dict[str, Any]], skipped: int | None) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            f"{PREFIX}_fleet_snapshot_age_seconds",
            "Age of the numbers exported for each process (REDIS_POOL_FLEET): its last snapshot's age, 0 "
            "where the scraped process's live counters stand in.",
            labels=["host", "pid"],
        )
        for process in processes:
            age.add_metric([str(process["host"]), str(process["pid"])], float(process["age_s"]))
        yield age
        skipped_metric = GaugeMetricFamily(
            f"{PREFIX}_fleet_snapshots_skipped",
            "Published snapshots this scrape skipped: another schema version, not JSON, or without a value "
            "the metrics read.",
        )
        if skipped is not None:
            skipped_metric.add_metric([], skipped)
        yield skipped_metric

    def _read_fleet(self, timeout: float, errors: dict[tuple[str, str], int]) -> store.FleetRead | None:
        settings = get_fleet_settings()
        if settings is None:
            return None
        try:
            client = store.fleet_client(settings, timeout)
            try:
                found = store.read_fleet(client, settings, time.time())
            finally:
                store.close_client(client)
        # A scrape must not fail as a whole (it would lose this process's metrics too): what failed is
        # in scrape_errors, and in the log once per outage.
        except Exception as exc:
            errors[(settings.alias, "fleet")] = 1
            if not self._fleet_failing:
                logger.warning("Metrics could not read the fleet from %r: %s", settings.alias, _safe(exc))
            self._fleet_failing = True
            return None
        errors[(settings.alias, "fleet")] = 0
        self._fleet_failing = False
        return found

    def _server_metrics(
        self,
        entries: list[tuple[str, PoolEntry]],
        errors: dict[tuple[str, str], int],
        timeout: float = 0.0,
    ) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            f"{PREFIX}_server_connections",
            "Pooled connections of the alias that the server lists (CLIENT LIST), per process.",
            labels=["alias", "host", "pid"],
        )
        # One budget for every server's CLIENT LIST of this scrape: a Cluster of many nodes, some of
        # them stalled, must not hold the scrape for one timeout per node.
        deadline = time.monotonic() + timeout
        for alias, entry in entries:
            if entry.settings.client_name is None:
                continue  # unnamed connections cannot be told apart on the server
            counts: dict[tuple[str, int], int] = {}
            failed = 0
            for pool in entry.node_pools().values():
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise TimeoutError("no time left in this scrape's CLIENT LIST budget")
                    listing = client_list(pool, remaining)
                except (RedisError, OSError):
                    failed += 1
                    continue
                for row in group_by_process(listing, entry):
                    key = (row["host"], row["pid"])
                    counts[key] = counts.get(key, 0) + row["connections"]
            for (host, pid), count in sorted(counts.items()):
                connections.add_metric([alias, host, str(pid)], count)
            errors[(alias, "client_list")] = failed
        yield connections

    @staticmethod
    def _errors_metric(errors: dict[tuple[str, str], int]) -> Metric:
        metric = GaugeMetricFamily(
            f"{PREFIX}_scrape_errors",
            "Redis reads of this scrape that failed: read=client_list counts an alias's servers whose "
            "CLIENT LIST failed, read=fleet the fleet snapshots' alias when they could not be read.",
            labels=["alias", "read"],
        )
        for (alias, read), count in sorted(errors.items()):
            metric.add_metric([alias, read], count)
        return metric


def _own_pools() -> list[dict[str, Any]]:
    return [
        {"alias": alias, "node": node, "driver": driver, "stats": stats}
        for alias, node, driver, stats in pool_rows()
    ]


def _safe(exc: BaseException) -> str:
    secrets = [secret for entry in registry.entries().values() for secret in entry.settings.secret_values()]
    return redact_text(f"{type(exc).__name__}: {exc}", secrets)


# Keyed by the registry itself, weakly: an id() can be reused by a new registry once the old is gone.
_registered: weakref.WeakKeyDictionary[CollectorRegistry, PoolCollector] = weakref.WeakKeyDictionary()


def register(
    registry_: CollectorRegistry = REGISTRY,
    server: bool = True,
    timeout: float | None = None,
    fleet: bool = True,
) -> PoolCollector:
    """Register a :class:`PoolCollector` in ``registry_`` (prometheus_client's default one unless
    given), once: a second call returns the first collector. Sends nothing to Redis (the first scrape
    does). Call it from an ``AppConfig.ready()``."""
    collector = _registered.get(registry_)
    if collector is None:
        collector = PoolCollector(server=server, timeout=timeout, fleet=fleet)
        registry_.register(collector)
        _registered[registry_] = collector
    return collector
