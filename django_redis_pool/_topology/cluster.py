"""Cluster aliases: redis-py's ``RedisCluster``, with one of this app's pools per node.

``RedisCluster`` connects to its startup nodes as it is built (to read the slot map), so the
registry builds it on the alias's first ``get_redis()``, never in ``AppConfig.ready()``. Each node's
pool is this app's pool class (fair, bounded, counted, named), given the alias's settings through a
subclass: redis-py passes node pools only the keyword arguments it knows.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from .._conf.build_errors import BUILD_ERRORS, setting_error
from .._conf.settings import PoolSettings
from .._pool import compat
from .._pool.counters import summarize
from .._pool.thread_driver import BlockingPool, NonBlockingPool, Pool
from .entry import PoolEntry, effective_limits, pool_arguments, side_arguments


def _no_cluster_retries() -> dict[str, Any]:
    # RedisCluster retries a failed command itself, with backoff and a new slot map each time: with its
    # `retry` in redis-py 6+, `cluster_error_retry_attempts` (deprecated since) in 5. A side client's
    # callers bound it by its timeout: with retries, one stalled node held a 1 s read 11 s.
    if int(redis.__version__.split(".")[0]) < 6:
        return {"cluster_error_retry_attempts": 0}
    return {"retry": Retry(NoBackoff(), 0)}


def node_pool_class(settings: PoolSettings) -> type[Pool]:
    """This app's pool class with the alias's own arguments bound (alias, names, recycling)."""
    base = BlockingPool if settings.blocking else NonBlockingPool
    own = {
        key: value
        for key, value in pool_arguments(settings).items()
        if key in ("alias", "client_name_prefix", "max_lifetime", "max_idle", "leak_warning", "breaker")
    }

    def __init__(self: Any, **kwargs: Any) -> None:
        safe_url = f"redis://{kwargs.get('host')}:{kwargs.get('port')}"
        base.__init__(self, **own, safe_url=safe_url, **kwargs)

    name = f"Cluster{base.__name__}"
    return cast(type[Pool], type(name, (base,), {"__init__": __init__, "__qualname__": name}))


class ClusterEntry(PoolEntry):
    """A Cluster alias: a ``RedisCluster`` built on first use, a pool per node."""

    def __init__(self, settings: PoolSettings, limits: Any, pool_class: type[Pool], probe: Pool) -> None:
        super().__init__(settings, limits, None, None)
        self.pool_class = pool_class
        self.probe = probe  # a node pool built from the URL, never connected: for its arguments
        self._lock = threading.Lock()
        self._cluster: RedisCluster | None = None

    @property
    def pool_class_name(self) -> str:
        return self.pool_class.__name__

    def connection_arguments(self) -> tuple[Any, dict[str, Any]]:
        kwargs = dict(compat.connection_kwargs(self.probe))
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        return self.probe.connection_class, kwargs

    @property
    def client(self) -> RedisCluster:
        if self._cluster is None:
            with self._lock:
                if self._cluster is None:
                    self._cluster = self._connect()
        return self._cluster

    def _connect(self) -> RedisCluster:
        settings = self.settings
        assert settings.cluster is not None
        kwargs = dict(settings.kwargs)
        retry = kwargs.pop("retry", None)  # RedisCluster retries at its level, not per node
        return RedisCluster(
            url=settings.url,
            startup_nodes=[ClusterNode(host, port) for host, port in settings.cluster.startup_nodes],
            connection_pool_class=self.pool_class,
            **({"retry": retry} if retry is not None else {}),
            **kwargs,
        )

    def side_client(self, timeout: float) -> RedisCluster:
        """A ``RedisCluster`` of its own, outside the alias's pools (see :meth:`PoolEntry.side_client`):
        it connects when built, so build it where waiting ``timeout`` is fine."""
        assert self.settings.cluster is not None
        _, kwargs = self.connection_arguments()
        kwargs = side_arguments(kwargs, timeout)
        kwargs.pop("db", None)
        kwargs.pop("retry", None)
        return RedisCluster(
            **_no_cluster_retries(),
            url=self.settings.url,
            startup_nodes=[ClusterNode(host, port) for host, port in self.settings.cluster.startup_nodes],
            max_connections=2,
            **kwargs,
        )

    def node_pools(self) -> dict[str, Pool]:
        client = self._cluster
        if client is None:
            return {}
        pools = {}
        for node in client.get_nodes():
            connection = node.redis_connection
            if connection is not None:
                pools[node.name] = connection.connection_pool
        return pools

    def stats(self) -> dict[str, Any]:
        """The nodes' stats taken together (the same keys as one pool's), and each under "nodes"."""
        snapshots = {name: pool.snapshot() for name, pool in sorted(self.node_pools().items())}
        total = summarize(snapshots.values())
        total["nodes"] = {name: summarize([snapshot]) for name, snapshot in snapshots.items()}
        return total

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            for pool in self.node_pools().values():
                pool.disconnect()


def build(settings: PoolSettings) -> ClusterEntry:
    """Validate a Cluster alias's pool arguments (no connection); the client comes on first use."""
    pool_class = node_pool_class(settings)
    kwargs = dict(settings.kwargs)
    kwargs.pop("retry", None)  # redis-py gives node connections no retries: the cluster client retries
    try:
        probe = pool_class.from_url(settings.url, **kwargs)
        limits = effective_limits(settings, probe)
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc) from None
    return ClusterEntry(settings, limits, pool_class, probe)
