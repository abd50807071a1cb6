"""Native asyncio twins of the Django cache API's commands, on the running loop's pools.

Same keys, bytes and replies as :class:`~._cache.client.CacheClient`; the clients come from
``get_async_redis(alias)`` (one pool per alias and event loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ResponseError

from .._registry.loops import get_async_redis
from .client import INCR_ANY, INCR_EXISTING, MISSING, CacheClient


class AsyncCommands:
    """The ``a*`` methods of PooledRedisCache (default and Sentinel clients; herd goes through threads)."""

    def __init__(self, client: CacheClient) -> None:
        self._client = client

    def _redis(self, write: bool) -> Any:
        index = self._client.get_next_client_index(write=write)
        try:
            return get_async_redis(self._client._server[index])
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(
                f"{self._client._backend._describe()} cannot reach its pool: {exc}"
            ) from exc

    async def set(
        self, key: Any, value: Any, timeout: Any, version: int | None, nx: bool = False, xx: bool = False
    ) -> bool:
        sync = self._client
        timeout = sync._timeout(timeout)
        nkey = sync.make_key(key, version=version)
        client = self._redis(write=True)
        if timeout is not None and int(timeout * 1000) <= 0:
            if nx:
                return int(await client.exists(nkey)) == 0
            return bool(await client.delete(nkey))
        px = None if timeout is None else int(timeout * 1000)
        return bool(await client.set(nkey, sync.encode(value), nx=nx, xx=xx, px=px))

    async def get(self, key: Any, default: Any, version: int | None) -> Any:
        value = await self._redis(write=False).get(self._client.make_key(key, version=version))
        return default if value is None else self._client.decode(value)

    async def delete(self, key: Any, version: int | None) -> int:
        return int(await self._redis(write=True).delete(self._client.make_key(key, version=version)))

    async def delete_many(self, keys: Iterable[Any], version: int | None) -> int:
        made = [self._client.make_key(key, version=version) for key in keys]
        return int(await self._redis(write=True).delete(*made)) if made else 0

    async def get_many(self, keys: Iterable[Any], version: int | None) -> dict[Any, Any]:
        made = {self._client.make_key(key, version=version): key for key in keys}
        if not made:
            return {}
        values = await self._redis(write=False).mget(*made)
        return {made[k]: self._client.decode(v) for k, v in zip(made, values, strict=True) if v is not None}

    async def set_many(self, data: Mapping[Any, Any], timeout: Any, version: int | None) -> list[Any]:
        sync = self._client
        timeout = sync._timeout(timeout)
        if timeout is not None and int(timeout * 1000) <= 0:
            await self.delete_many(data, version)
            return []
        px = None if timeout is None else int(timeout * 1000)
        pipeline = self._redis(write=True).pipeline()
        for key, value in data.items():
            pipeline.set(sync.make_key(key, version=version), sync.encode(value), px=px)
        await pipeline.execute()
        return []

    async def has_key(self, key: Any, version: int | None) -> bool:
        return int(await self._redis(write=False).exists(self._client.make_key(key, version=version))) == 1

    async def incr(self, key: Any, delta: int, version: int | None, ignore_key_check: bool = False) -> Any:
        sync = self._client
        client, nkey = self._redis(write=True), sync.make_key(key, version=version)
        try:
            value = await client.eval(INCR_ANY if ignore_key_check else INCR_EXISTING, 1, nkey, delta)
        except ResponseError:
            left = int(await client.pttl(nkey))
            if left == -2:
                raise ValueError(f"Key {key!r} not found.") from None
            current = await self.get(nkey, MISSING, version)
            if current is MISSING:
                raise ValueError(f"Key {key!r} not found.") from None
            if not isinstance(current, int) or isinstance(current, bool):
                raise  # not a number: Redis's error, as Django's RedisCache raises
            value = current + delta
            px = None if left < 0 else max(left, 1)
            await client.set(nkey, sync.encode(value), px=px)
            return value
        if value is None or value is False:
            raise ValueError(f"Key {key!r} not found.")
        return value

    async def touch(self, key: Any, timeout: Any, version: int | None) -> bool:
        timeout = self._client._timeout(timeout)
        client, nkey = self._redis(write=True), self._client.make_key(key, version=version)
        if timeout is None:
            return bool(await client.persist(nkey))
        return bool(await client.pexpire(nkey, int(timeout * 1000)))

    async def clear(self) -> bool:
        return bool(await self._redis(write=True).flushdb())
