"""An asyncio Cluster client's nodes on this app's pools: one :class:`~.._pool.async_driver.AsyncPool`
per node, so a node's callers queue fairly, wait at most ``POOL_TIMEOUT`` and are counted.

redis-py's ``redis.asyncio.cluster.ClusterNode`` keeps its own connection list, takes a connection
synchronously (``acquire_connection()`` raises ``MaxConnectionsError`` when all are busy: no
waiting, no queue, redis-py #2522), and ``NodesManager`` makes its nodes by naming the class. So a
client's ``NodesManager`` adopts (:func:`.._pool.compat.adopt`) every node it is given as a
:class:`PooledClusterNode`: same object, same slots, this class's methods. A pooled node's
``execute_command``/``execute_pipeline`` first take a connection from its pool (waiting in FIFO
order), hand it to redis-py's own method through a context variable read by
``acquire_connection()``, and give it back to the pool afterwards, whatever happened. redis-py's
own code for the command (redirections, retries, responses) runs unchanged.

Paths of redis-py >= 8 that take a node's connection directly (cluster transactions, sharded
Pub/Sub) still use the node's own list: not pooled, not counted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ClassVar

from redis.asyncio.cluster import ClusterNode, NodesManager
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .._pool import compat
from .._pool.async_driver import AsyncPool
from .._pool.counters import Snapshot

# The connection a pooled node took for the running task, until redis-py's method acquires it.
_handed: ContextVar[Any] = ContextVar("django_redis_pool_cluster_connection", default=None)


class NodePools:
    """One client's pools, by node name ("host:port"), made on a node's first command."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        self.arguments = arguments  # AsyncPool's own: alias, max_connections, blocking, timeout...
        self.pools: dict[str, AsyncPool] = {}

    def pool(self, node: ClusterNode) -> AsyncPool:
        pool = self.pools.get(node.name)
        if pool is None:
            # No retries per connection, as redis-py >= 5.1 gives a node's: the cluster client
            # retries, after reading the slot map again.
            kwargs = {**node.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
            pool = AsyncPool(
                node.connection_class, safe_url=f"redis://{node.name}", **self.arguments, **kwargs
            )
            self.pools[node.name] = pool
        return pool

    def snapshots(self) -> dict[str, Snapshot]:
        return {name: pool.snapshot() for name, pool in sorted(self.pools.items())}

    async def disconnect(self) -> None:
        for pool in list(self.pools.values()):
            await pool.disconnect()


class PooledClusterNode(ClusterNode):
    """A ``ClusterNode`` whose commands and pipelines run on a connection of its pool."""

    __slots__ = ()
    node_pools: ClassVar[NodePools]  # set on the subclass made for each client

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return await self._on_pooled_connection(super().execute_command, *args, **kwargs)

    async def execute_pipeline(self, commands: Any) -> bool:
        failed: bool = await self._on_pooled_connection(super().execute_pipeline, commands)
        return failed

    async def _on_pooled_connection(
        self, call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        pool = self.node_pools.pool(self)
        connection = await pool.get_connection()
        token = _handed.set(connection)
        try:
            return await call(*args, **kwargs)
        finally:
            _handed.reset(token)
            compat.unfree(self, connection)  # redis-py 5.0 appends it to ``_free`` itself
            await pool.release(connection)

    def acquire_connection(self) -> Any:
        connection = _handed.get()
        if connection is None:  # a redis-py path this class does not pool
            return super().acquire_connection()
        _handed.set(None)
        return connection

    def release(self, connection: Any) -> None:
        # Newer redis-py returns connections through release(): the pool's go back in the finally.
        pool = self.node_pools.pools.get(self.name)
        if pool is None or not pool.checked_out(connection):
            super().release(connection)


class PooledNodesManager(NodesManager):
    """A ``NodesManager`` whose nodes, however redis-py made them, are pooled nodes."""

    __slots__ = ()
    node_class: ClassVar[type[PooledClusterNode]]

    def set_nodes(self, old: dict[str, Any], new: dict[str, Any], remove_old: bool = False) -> None:
        for node in new.values():
            if not isinstance(node, PooledClusterNode):
                compat.adopt(node, self.node_class)
        super().set_nodes(old, new, remove_old)


def pooled_nodes_manager(node_pools: NodePools) -> type[PooledNodesManager]:
    """A ``NodesManager`` class for one client, its nodes on ``node_pools``."""
    node_class = type("PooledClusterNode", (PooledClusterNode,), {"__slots__": (), "node_pools": node_pools})
    return type("PooledNodesManager", (PooledNodesManager,), {"__slots__": (), "node_class": node_class})
