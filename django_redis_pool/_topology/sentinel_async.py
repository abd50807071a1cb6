"""Sentinel aliases for asyncio: redis-py's asyncio Sentinel pool on this app's asyncio pool class."""

from __future__ import annotations

from typing import Any

from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from .._pool.async_driver import AsyncPool
from .entry import PoolEntry
from .sentinel import _data_node_arguments, _sentinel_arguments


class AsyncSentinelPool(SentinelConnectionPool, AsyncPool):
    """A Sentinel-managed, fair asyncio pool (one per alias and event loop)."""

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        SentinelConnectionPool.__init__(self, service_name, sentinel_manager, **kwargs)

    async def release(self, connection: Any) -> None:
        # A connection to a master the sentinels have since replaced is closed, not reused.
        master = self.master_address
        stale = master is not None and (connection.host, connection.port) != tuple(master)
        try:
            if self.is_master and stale and self._policy.releasable(connection):
                await connection.disconnect()
        finally:  # even when cancelled while closing: the pool's own release frees the slot
            await super().release(connection)


def build_async_sentinel(entry: PoolEntry, kwargs: dict[str, Any]) -> AsyncSentinelPool:
    settings = entry.settings
    assert settings.sentinel is not None
    config = settings.sentinel
    manager = Sentinel(list(config.sentinels), sentinel_kwargs=_sentinel_arguments(settings))
    kwargs = {**kwargs, **_data_node_arguments(settings)}
    ssl = kwargs.pop("ssl", False)
    return AsyncSentinelPool(config.service_name, manager, is_master=not config.is_replica, ssl=ssl, **kwargs)
