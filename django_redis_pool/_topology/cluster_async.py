"""Cluster aliases for asyncio: redis-py's ``redis.asyncio.cluster.RedisCluster``.

redis-py's asyncio cluster client manages one connection list per node itself (no pool class to
replace). What this module adds: the client initialises once, under a lock, before its first
command. Without it, concurrent first commands on a new client race redis-py's own initialisation
and fail with ``'NoneType' object has no attribute 'writelines'`` (seen with redis-py 8.1: 30
concurrent SETs on a fresh client fail, sequential ones do not).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from redis.asyncio.cluster import RedisCluster

from .._pool import compat
from .._pool.naming import format_client_name
from .entry import PoolEntry


class AsyncClusterClient(RedisCluster):
    """``RedisCluster`` that finishes initialising before any of its first commands runs."""

    _drp_init_lock: asyncio.Lock | None = None

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if compat.cluster_needs_init(self):
            if self._drp_init_lock is None:
                self._drp_init_lock = asyncio.Lock()
            async with self._drp_init_lock:
                await self.initialize()
        return await super().execute_command(*args, **kwargs)


def build_async_cluster(entry: PoolEntry) -> RedisCluster:
    kwargs = dict(entry.settings.kwargs)
    kwargs.pop("timeout", None)  # no pool to wait on: the client keeps connections per node
    kwargs.pop("retry", None)
    settings = entry.settings
    if settings.client_name is not None:
        kwargs["client_name"] = format_client_name(settings.client_name, settings.alias, os.getpid())
    return AsyncClusterClient.from_url(settings.url, **kwargs)
