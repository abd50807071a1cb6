"""The ``a*`` methods of PooledRedisCache: native asyncio on the running loop's pools (see aio.py),
through a thread for the herd client; IGNORE_EXCEPTIONS as for the sync methods."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.utils.functional import cached_property

from .aio import AsyncCommands
from .ignore import default_argument, empty_dict, omit_errors


class AsyncMethods(BaseCache):
    """Mixin of PooledRedisCache (before Django's RedisCache, whose a* methods it replaces)."""

    @cached_property
    def _async(self) -> AsyncCommands:
        return AsyncCommands(cast(Any, self).client)

    def _threaded(self) -> bool:
        return bool(cast(Any, self)._setup.kind == "herd")  # the herd client goes through a thread

    def _key(self, key: Any, version: int | None) -> Any:
        raise NotImplementedError  # PooledRedisCache's

    @omit_errors()
    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:  # Django's None: set()'s bool is for django-redis's nx/xx, which aset() does not take
        if self._threaded():
            await sync_to_async(self.set)(key, value, timeout, version)
        else:
            await self._async.set(self._key(key, version), value, timeout, None)

    @omit_errors()
    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        if self._threaded():
            return await sync_to_async(self.add)(key, value, timeout, version)
        return await self._async.set(self._key(key, version), value, timeout, None, nx=True)

    @omit_errors(default_argument)
    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        if self._threaded():
            return await sync_to_async(self.get)(key, default, version)
        return await self._async.get(self._key(key, version), default, None)

    @omit_errors()
    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return bool(await self._async.delete(self._key(key, version), None))

    @omit_errors()
    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        # None, as Django's and django-redis's (whose adelete_many is Django's loop over adelete)
        made = [self._key(key, version) for key in keys]
        if made:
            await self._async.delete_many(made, None)

    @omit_errors(empty_dict)
    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        if self._threaded():
            return await sync_to_async(self.get_many)(keys, version)
        made = {self._key(key, version): key for key in keys}
        found = await self._async.get_many(made, None)
        return {made[k]: v for k, v in found.items()}

    @omit_errors()
    async def aset_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        if self._threaded():
            return await sync_to_async(self.set_many)(data, timeout, version)
        return await self._async.set_many({self._key(k, version): v for k, v in data.items()}, timeout, None)

    @omit_errors()
    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return await self._async.has_key(self._key(key, version), None)

    @omit_errors()
    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        if self._threaded():
            return await sync_to_async(self.incr)(key, delta, version)
        return await self._async.incr(self._key(key, version), delta, None)

    @omit_errors()
    async def atouch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        if self._threaded():
            return await sync_to_async(self.touch)(key, timeout, version)
        return await self._async.touch(self._key(key, version), timeout, None)

    # True, as Django's RedisCache returns (FLUSHDB's reply); django-stubs declare None.
    @omit_errors()
    async def aclear(self) -> bool:  # type: ignore[override]
        return await self._async.clear()
