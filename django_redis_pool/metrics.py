"""A prometheus_client collector of every alias's pool, computed at scrape time
(``pip install 'django-redis-pool[prometheus]'``; ``django_redis_pool.metrics.register()``).

Nothing is counted on the hot path: a scrape reads the pools' own counters (``get_stats``) and, per
server, one ``CLIENT LIST`` sent through the alias's own pool with a bounded timeout, grouped by the
connection names ``<prefix>:<alias>:<host>:<pid>`` as ``redis_pool_status`` groups them. So one
scrape of any worker shows every worker's pooled connections; a failed ``CLIENT LIST`` becomes
``django_redis_pool_scrape_errors``, never an exception.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from ._conf.probes import health_timeout
from ._registry import sync as registry
from ._report import client_list, group_by_process, pool_rows

if TYPE_CHECKING:
    from ._registry.sync import PoolEntry

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
except ImportError:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "django_redis_pool.metrics needs prometheus_client: pip install 'django-redis-pool[prometheus]'."
    ) from None

PREFIX = "django_redis_pool"
LABELS = ["alias", "node", "driver"]
# stats key -> (metric name, help); counters get "_total" from prometheus_client.
GAUGES = {
    "in_use": ("in_use", "Connections checked out of the pool now."),
    "idle": ("idle", "Open connections waiting in the pool."),
    "waiting": ("waiting", "Callers waiting for a connection now."),
    "max_connections": ("max_connections", "MAX_CONNECTIONS of the pool."),
    "peak_in_use": ("peak_in_use", "Most connections checked out at once since the pool was built."),
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
}
# stats key (milliseconds) -> (metric name in seconds, help)
WAIT_GAUGES = {
    "wait_ms_p50": ("wait_p50_seconds", "Median wait for a connection, over the last 1024 waits."),
    "wait_ms_p99": ("wait_p99_seconds", "99th percentile wait for a connection, over the last 1024 waits."),
}


class PoolCollector(Collector):
    """This process's pools (labels ``alias``, ``node``: a Cluster node, "" otherwise, and ``driver``:
    "sync", or "asyncio" for the alias's asyncio pools of every event loop together) and, with
    ``server=True``, each server's count of pooled connections per process (labels ``alias``,
    ``host``, ``pid``), each ``CLIENT LIST`` bounded by ``timeout`` (``REDIS_POOL_HEALTH_TIMEOUT``
    when None)."""

    def __init__(self, server: bool = True, timeout: float | None = None) -> None:
        self.server = server
        self.timeout = timeout

    def collect(self) -> Iterator[Metric]:
        yield from self._pool_metrics(pool_rows())
        if self.server:
            yield from self._server_metrics(sorted(registry.entries().items()))

    def _pool_metrics(self, rows: list[tuple[str, str, str, dict[str, Any]]]) -> Iterator[Metric]:
        stats = [((alias, node, driver), values) for alias, node, driver, values in rows]
        for key, (name, documentation) in GAUGES.items():
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=LABELS)
            for labels, values in stats:
                gauge.add_metric(labels, values[key])
            yield gauge
        for key, (name, documentation) in WAIT_GAUGES.items():
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=LABELS)
            for labels, values in stats:
                gauge.add_metric(labels, values[key] / 1000)
            yield gauge
        for key, (name, documentation) in COUNTERS.items():
            counter = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=LABELS)
            for labels, values in stats:
                counter.add_metric(labels, values[key])
            yield counter
        waited = CounterMetricFamily(
            f"{PREFIX}_wait_seconds", "Time spent waiting for a connection.", labels=LABELS
        )
        for labels, values in stats:
            waited.add_metric(labels, values["wait_ms_total"] / 1000)
        yield waited

    def _server_metrics(self, entries: list[tuple[str, PoolEntry]]) -> Iterator[Metric]:
        connections = GaugeMetricFamily(
            f"{PREFIX}_server_connections",
            "Pooled connections of the alias that the server lists (CLIENT LIST), per process.",
            labels=["alias", "host", "pid"],
        )
        errors = GaugeMetricFamily(
            f"{PREFIX}_scrape_errors",
            "Servers of the alias whose CLIENT LIST failed during this scrape.",
            labels=["alias"],
        )
        for alias, entry in entries:
            if entry.settings.client_name is None:
                continue  # unnamed connections cannot be told apart on the server
            counts: dict[tuple[str, int], int] = {}
            failed = 0
            for pool in entry.node_pools().values():
                try:
                    listing = client_list(pool, health_timeout() if self.timeout is None else self.timeout)
                except (RedisError, OSError):
                    failed += 1
                    continue
                for row in group_by_process(listing, entry):
                    key = (row["host"], row["pid"])
                    counts[key] = counts.get(key, 0) + row["connections"]
            for (host, pid), count in sorted(counts.items()):
                connections.add_metric([alias, host, str(pid)], count)
            errors.add_metric([alias], failed)
        yield connections
        yield errors


# Keyed by the registry itself, weakly: an id() can be reused by a new registry once the old is gone.
_registered: weakref.WeakKeyDictionary[CollectorRegistry, PoolCollector] = weakref.WeakKeyDictionary()


def register(
    registry_: CollectorRegistry = REGISTRY, server: bool = True, timeout: float | None = None
) -> PoolCollector:
    """Register a :class:`PoolCollector` in ``registry_`` (prometheus_client's default one unless
    given), once: a second call returns the first collector. Call it from an ``AppConfig.ready()``."""
    collector = _registered.get(registry_)
    if collector is None:
        collector = PoolCollector(server=server, timeout=timeout)
        registry_.register(collector)
        _registered[registry_] = collector
    return collector
