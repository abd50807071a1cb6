"""Django's Redis cache on a ``REDIS_POOL`` alias's pool: ``PooledRedisCache``.

``CACHES = {"default": {"BACKEND": "django_redis_pool.cache.PooledRedisCache", "LOCATION": "default"}}``:
``LOCATION`` names a ``REDIS_POOL`` alias. Everything but the connections is Django's own
``RedisCache``: key making, versions, timeouts, the serializer and the commands each method sends
(``RedisCacheClient``'s methods run unchanged). What differs is where the client comes from: Django
builds pools of its own per cache object (so per thread) and a ``redis.Redis`` per command; here every
command goes through ``get_redis(alias)``, and the ``a*`` methods through ``get_async_redis(alias)``
natively instead of through ``sync_to_async``. The cache has no pool of its own, so the alias's stats,
checks and ``redis_pool_status`` cover it.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis
from django.conf import settings as django_settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, MEMCACHE_MAX_KEY_LENGTH, memcached_error_chars_re
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property
from django.utils.module_loading import import_string

from ._conf.settings import setting_path
from ._registry import sync as registry
from ._registry.loops import get_async_redis

# The only OPTIONS key a cache of this backend takes: the rest of Django's RedisCache OPTIONS
# (pool_class, parser_class, db, password, socket_timeout...) configure a pool, which is the alias's.
CACHE_OPTIONS = frozenset({"serializer"})
# The client methods Django's RedisCache calls, reused verbatim around the alias's client.
SYNC_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)

F = TypeVar("F", bound=Callable[..., Any])
# Django's own pattern, compiled once here: its lazy regex costs ~2 µs a key through LazyObject.
_memcached_error_chars = re.compile(memcached_error_chars_re.pattern).search


def options_error(options: Mapping[str, Any]) -> str | None:
    """What is wrong with a cache's OPTIONS, or None (shared by the backend and check E002)."""
    if not isinstance(options, Mapping):
        return f"OPTIONS must be a dict, got {type(options).__name__}."
    unknown = sorted(str(key) for key in options if key not in CACHE_OPTIONS)
    if not unknown:
        return None
    return (
        f"OPTIONS has {', '.join(repr(k) for k in unknown)}, which this backend does not take: "
        "connection and pool options belong to the REDIS_POOL alias named by LOCATION (its 'OPTIONS' "
        "and keys), and Redis evicts by its own maxmemory-policy (no MAX_ENTRIES or CULL_FREQUENCY). "
        "The only cache option is 'serializer'."
    )


def is_pooled_backend(backend: Any) -> bool:
    """Whether a CACHES 'BACKEND' value is this backend or a subclass of it."""
    if backend == f"{__name__}.PooledRedisCache":
        return True
    try:
        cls = import_string(backend) if isinstance(backend, str) else backend
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, PooledRedisCache)


def cache_aliases(location: str, params: Mapping[str, Any]) -> list[str]:
    """The CACHES aliases configured exactly like a backend built with ``location`` and ``params``.

    Django does not tell a backend its alias; this is only read to word an error.
    """
    found = []
    for name, config in getattr(django_settings, "CACHES", {}).items():
        rest = {k: v for k, v in config.items() if k not in ("BACKEND", "LOCATION")}
        if (
            config.get("LOCATION", "") == location
            and rest == dict(params)
            and is_pooled_backend(config.get("BACKEND"))
        ):
            found.append(name)
    return found


class PooledRedisCacheClient(RedisCacheClient):
    """``RedisCacheClient`` whose commands run on a REDIS_POOL alias's process-wide client."""

    _serializer: Any  # set by RedisCacheClient.__init__

    def __init__(self, pool_alias: str, describe: Callable[[], str], serializer: Any = None) -> None:
        # Django's __init__ only resolves the serializer and records pool options, never connects.
        super().__init__([pool_alias], serializer=serializer)
        self._pool_alias = pool_alias
        self._describe = describe

    def _unusable(self, exc: ImproperlyConfigured) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"{self._describe()} cannot reach its pool: {exc}")

    def _get_connection_pool(self, write: bool) -> Any:
        try:
            return registry.get_pool(self._pool_alias)
        except ImproperlyConfigured as exc:
            raise self._unusable(exc) from exc

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        try:
            return registry.get_redis(self._pool_alias)
        except ImproperlyConfigured as exc:
            raise self._unusable(exc) from exc

    def get_async_client(self, key: Any = None, *, write: bool = False) -> Any:
        try:
            return get_async_redis(self._pool_alias)
        except ImproperlyConfigured as exc:
            raise self._unusable(exc) from exc

    # Native async twins of RedisCacheClient's methods: the same commands, awaited on the
    # running loop's pool of the alias.
    async def aadd(self, key: Any, value: Any, timeout: float | None) -> bool:
        client = self.get_async_client(key, write=True)
        value = self._serializer.dumps(value)
        if timeout == 0:
            if ret := bool(await client.set(key, value, nx=True)):
                await client.delete(key)
            return ret
        return bool(await client.set(key, value, ex=timeout, nx=True))

    async def aget(self, key: Any, default: Any) -> Any:
        value = await self.get_async_client(key).get(key)
        return default if value is None else self._serializer.loads(value)

    async def aset(self, key: Any, value: Any, timeout: float | None) -> None:
        client = self.get_async_client(key, write=True)
        value = self._serializer.dumps(value)
        if timeout == 0:
            await client.delete(key)
        else:
            await client.set(key, value, ex=timeout)

    async def atouch(self, key: Any, timeout: float | None) -> bool:
        client = self.get_async_client(key, write=True)
        if timeout is None:
            return bool(await client.persist(key))
        return bool(await client.expire(key, timeout))

    async def adelete(self, key: Any) -> bool:
        return bool(await self.get_async_client(key, write=True).delete(key))

    async def aget_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        keys = list(keys)
        values = await self.get_async_client(None).mget(keys)
        return {k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

    async def ahas_key(self, key: Any) -> bool:
        return bool(await self.get_async_client(key).exists(key))

    async def aincr(self, key: Any, delta: int) -> int:
        client = self.get_async_client(key, write=True)
        if not await client.exists(key):
            raise ValueError(f"Key '{key}' not found.")
        return int(await client.incr(key, delta))

    async def aset_many(self, data: Mapping[Any, Any], timeout: float | None) -> None:
        pipeline = self.get_async_client(None, write=True).pipeline()
        pipeline.mset({k: self._serializer.dumps(v) for k, v in data.items()})
        if timeout is not None:
            # MSET takes no expiry: one EXPIRE per key, in the same transaction (as Django does).
            for key in data:
                pipeline.expire(key, timeout)
        await pipeline.execute()

    async def adelete_many(self, keys: Iterable[Any]) -> None:
        await self.get_async_client(None, write=True).delete(*keys)

    async def aclear(self) -> bool:
        return bool(await self.get_async_client(None, write=True).flushdb())


def _naming_errors(method: F) -> F:
    """A Redis error escapes with a note naming the cache and pool aliases (type and message kept)."""

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_wrapper(self: PooledRedisCacheClient, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except redis.RedisError as exc:
                exc.add_note(f"in {self._describe()}")
                raise

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(self: PooledRedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as exc:
            exc.add_note(f"in {self._describe()}")
            raise

    return wrapper  # type: ignore[return-value]


for _name in SYNC_METHODS:
    setattr(PooledRedisCacheClient, _name, _naming_errors(getattr(RedisCacheClient, _name)))
    setattr(PooledRedisCacheClient, f"a{_name}", _naming_errors(getattr(PooledRedisCacheClient, f"a{_name}")))


class PooledRedisCache(RedisCache):
    """Django's ``RedisCache`` whose ``LOCATION`` is a ``REDIS_POOL`` alias: no pool of its own."""

    _options: dict[str, Any]  # set by RedisCache.__init__

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._params = dict(params)
        self._location = server
        if not isinstance(server, str) or not server:
            raise ImproperlyConfigured(
                f"{self._describe()}: LOCATION must name a REDIS_POOL alias (a str), got {server!r}."
            )
        self._servers = [server]
        self._pool_alias = server
        problem = options_error(self._options)
        if problem is not None:
            raise ImproperlyConfigured(f"{self._describe()}: {problem}")

    def _describe(self) -> str:
        names = cache_aliases(self._location, self._params)
        cache = (
            f"CACHES[{names[0]!r}]" if len(names) == 1 else "the cache with LOCATION " + repr(self._location)
        )
        if len(names) > 1:
            cache += f" (one of CACHES {', '.join(repr(n) for n in names)})"
        return f"{cache} on {setting_path(str(self._location))}"

    def validate_key(self, key: str) -> None:
        # Django's CacheKeyWarnings unchanged: a key that warns goes through Django's validate_key.
        if len(key) > MEMCACHE_MAX_KEY_LENGTH or _memcached_error_chars(key):
            super().validate_key(key)

    @cached_property
    def _cache(self) -> PooledRedisCacheClient:
        return PooledRedisCacheClient(self._pool_alias, self._describe, **self._options)

    async def aadd(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.aadd(key, value, self.get_backend_timeout(timeout))

    async def aget(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.aget(key, default)

    async def aset(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        key = self.make_and_validate_key(key, version=version)
        await self._cache.aset(key, value, self.get_backend_timeout(timeout))

    async def atouch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.atouch(key, self.get_backend_timeout(timeout))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.adelete(key)

    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        found = await self._cache.aget_many(key_map.keys())
        return {key_map[k]: v for k, v in found.items()}

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.ahas_key(key)

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        return await self._cache.aincr(key, delta)

    async def aset_many(
        self, data: Mapping[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        if not data:
            return []
        safe_data = {self.make_and_validate_key(key, version=version): value for key, value in data.items()}
        await self._cache.aset_many(safe_data, self.get_backend_timeout(timeout))
        return []

    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        if not keys:
            return
        safe_keys = [self.make_and_validate_key(key, version=version) for key in keys]
        await self._cache.adelete_many(safe_keys)

    async def aclear(self) -> bool:  # type: ignore[override]  # as RedisCache.clear(): FLUSHDB's reply
        return await self._cache.aclear()
