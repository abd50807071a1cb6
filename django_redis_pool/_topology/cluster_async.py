"""Cluster aliases for asyncio: redis-py's ``redis.asyncio.cluster.RedisCluster``, one of this
app's pools per node (:mod:`.cluster_nodes`).

The client also initialises once, under a lock, before its first command. Without it, concurrent
first commands on a new client race redis-py's own initialisation and fail with ``'NoneType' object
has no attribute 'writelines'`` (seen with redis-py 8.1: 30 concurrent SETs on a fresh client fail,
sequential ones do not).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from redis.asyncio.cluster import RedisCluster

from .._pool import compat
from .._pool.naming import format_client_name
from .cluster_nodes import NodePools, pooled_nodes_manager
from .entry import PoolEntry


class AsyncClusterClient(RedisCluster):
    """``RedisCluster`` whose nodes run on ``node_pools``, and that finishes initialising before
    any of its first commands runs."""

    _drp_init_lock: asyncio.Lock | None = None

    def __init__(self, *args: Any, node_pools: NodePools, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.node_pools = node_pools
        compat.adopt(self.nodes_manager, pooled_nodes_manager(node_pools))

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if compat.cluster_needs_init(self):
            if self._drp_init_lock is None:
                self._drp_init_lock = asyncio.Lock()
            async with self._drp_init_lock:
                await self.initialize()
        return await super().execute_command(*args, **kwargs)

    async def aclose(self) -> None:
        # As redis-py closes every node's connections (also when a node fails: it then reads the
        # slot map again), so are the pools' closed.
        await super().aclose()
        await self.node_pools.disconnect()


def build_async_cluster(entry: PoolEntry) -> tuple[RedisCluster, NodePools]:
    """The client of a Cluster alias for the running loop, and its nodes' pools."""
    settings, limits = entry.settings, entry.limits
    kwargs = dict(settings.kwargs)
    kwargs.pop("timeout", None)  # POOL_TIMEOUT: the node pools' own
    kwargs.pop("retry", None)
    if settings.client_name is not None:
        kwargs["client_name"] = format_client_name(settings.client_name, settings.alias, os.getpid())
    node_pools = NodePools(
        {
            "alias": settings.alias,
            "max_connections": limits.max_connections,
            "blocking": limits.blocking,
            "timeout": limits.pool_timeout,
            "max_lifetime": settings.max_lifetime,
            "max_idle": settings.max_idle,
            "leak_warning": settings.leak_warning,
            "breaker": settings.breaker,
        }
    )
    return AsyncClusterClient.from_url(settings.url, node_pools=node_pools, **kwargs), node_pools
