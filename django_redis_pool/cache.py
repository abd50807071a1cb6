"""``PooledRedisCache``: a drop-in for django-redis's ``RedisCache`` (and Django's) on this app's pools.

``LOCATION`` is a ``REDIS_POOL`` alias, or what django-redis takes: a URL, a list or comma-separated
string of URLs (the first the primary, the others replicas for reads). Such a cache gets pools of its
own, built at startup from its ``OPTIONS`` like any alias and named after it (``CACHES['default']``),
so the checks, ``get_stats()``, ``redis_pool_status`` and the metrics cover them. The commands are
django-redis's (``cache.client`` is its client API, see ``_cache/client.py``) and store the bytes it
stores, so a project can switch either way without flushing its cache. The ``a*`` methods of Django's
API are native asyncio on the running loop's pools.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, MEMCACHE_MAX_KEY_LENGTH, memcached_error_chars_re
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

from ._cache.async_methods import AsyncMethods
from ._cache.client import CacheClient
from ._cache.django_view import DjangoClientView
from ._cache.herd import HerdClient
from ._cache.ignore import default_argument, empty_dict, ignored_count, omit_errors
from ._cache.options import codec_of, describe, read_setup
from ._cache.passthrough import PassedThrough
from ._conf.caches import is_pooled_backend
from ._conf.settings import setting_path

__all__ = ["PooledRedisCache", "is_pooled_backend"]

# Django's pattern, compiled once here: its lazy regex costs ~2 µs a key through LazyObject.
_memcached_error_chars = re.compile(memcached_error_chars_re.pattern).search


class PooledRedisCache(PassedThrough, AsyncMethods, RedisCache):
    """Django's cache API and django-redis's additions on process-wide pools."""

    uses_redis_pool = True  # how _conf.caches recognises this backend and its subclasses

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._params = dict(params)
        self._location = server
        setup = read_setup(server, params)
        self._setup = setup
        self._name = setup.name
        self._ignore_exceptions = setup.ignore_exceptions
        self._log_ignored_exceptions = setup.log_ignored_exceptions
        self.logger = setup.logger
        self._default_scan_itersize = int(getattr(settings, "DJANGO_REDIS_SCAN_ITERSIZE", 10))

    def _describe(self) -> str:
        where = describe(self._name, self._location)
        if self._setup.pool_aliases[0] == self._location:
            return f"{where} on {setting_path(self._location)}"
        return where

    @cached_property
    def client(self) -> CacheClient:
        """django-redis's client API: ``cache.client.get_client(write=True)``, the pooled ``redis.Redis``."""
        client_class = HerdClient if self._setup.kind == "herd" else CacheClient
        codec = codec_of(self._setup, self._location)
        return client_class(self, list(self._setup.pool_aliases), codec, self._setup.options)

    @cached_property
    def _cache(self) -> DjangoClientView:
        return DjangoClientView(self.client)

    @property
    def ignored_exceptions(self) -> int:
        """Errors this cache's alias has ignored in this process (IGNORE_EXCEPTIONS)."""
        return ignored_count(self._name or "")

    def validate_key(self, key: str) -> None:
        # Django's CacheKeyWarnings unchanged: a key that warns goes through Django's validate_key.
        if len(key) > MEMCACHE_MAX_KEY_LENGTH or _memcached_error_chars(key):
            super().validate_key(key)

    def _key(self, key: Any, version: int | None) -> Any:
        made = self.client.make_key(key, version=version)
        self.validate_key(made)
        return made

    # -- Django's cache API, with django-redis's extra arguments ------------------------------

    @omit_errors()
    def set(  # type: ignore[override]  # django-redis's: returns whether it stored, takes nx/xx/client
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
        nx: bool = False,
        xx: bool = False,
    ) -> bool:
        return self.client.set(self._key(key, version), value, timeout, client=client, nx=nx, xx=xx)

    @omit_errors()
    def add(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
    ) -> bool:
        return self.client.add(self._key(key, version), value, timeout, client=client)

    @omit_errors(default_argument)
    def get(self, key: Any, default: Any = None, version: int | None = None, client: Any = None) -> Any:
        return self.client.get(self._key(key, version), default=default, client=client)

    @omit_errors()
    def delete(
        self, key: Any, version: int | None = None, prefix: str | None = None, client: Any = None
    ) -> bool:
        if prefix is not None:
            return bool(self.client.delete(key, version=version, prefix=prefix, client=client))
        return bool(self.client.delete(self._key(key, version), client=client))

    # Whether a key was deleted (django-redis returns the count: bool() is the same), None for no keys
    # (Django); django-stubs declare None.
    @omit_errors()
    def delete_many(self, keys: Iterable[Any], version: int | None = None, client: Any = None) -> bool | None:  # type: ignore[override]
        made = [self._key(key, version) for key in keys]
        return bool(self.client.delete_many(made, client=client)) if made else None

    @omit_errors(empty_dict)
    def get_many(self, keys: Iterable[Any], version: int | None = None, client: Any = None) -> dict[Any, Any]:
        made = {self._key(key, version): key for key in keys}
        found = self.client.get_many(list(made), client=client)
        return {made[key]: value for key, value in found.items()}

    @omit_errors()
    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> list[Any]:
        made = {self._key(key, version): value for key, value in data.items()}
        return self.client.set_many(made, timeout, client=client, **kwargs)

    @omit_errors()
    def has_key(self, key: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.has_key(self._key(key, version), client=client)

    @omit_errors()
    def incr(
        self,
        key: Any,
        delta: int = 1,
        version: int | None = None,
        client: Any = None,
        ignore_key_check: bool = False,
    ) -> Any:
        return self.client.incr(
            self._key(key, version), delta, client=client, ignore_key_check=ignore_key_check
        )

    @omit_errors()
    def decr(self, key: Any, delta: int = 1, version: int | None = None, client: Any = None) -> Any:
        return self.client.decr(self._key(key, version), delta, client=client)

    @omit_errors()
    def incr_version(self, key: Any, delta: int = 1, version: int | None = None, client: Any = None) -> int:
        return self.client.incr_version(key, delta, version=version, client=client)

    @omit_errors()
    def touch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None, client: Any = None
    ) -> bool:
        return self.client.touch(self._key(key, version), timeout, client=client)

    # True, as Django's RedisCache returns (FLUSHDB's reply); django-stubs declare None.
    @omit_errors()
    def clear(self, client: Any = None) -> bool:  # type: ignore[override]
        return self.client.clear(client=client)

    @omit_errors()
    def close(self, **kwargs: Any) -> None:
        if "client" in self.__dict__:
            self.client.close()

    # -- django-redis's additions --------------------------------------------------------------

    @omit_errors()
    def delete_pattern(
        self,
        pattern: str,
        version: int | None = None,
        prefix: str | None = None,
        client: Any = None,
        itersize: int | None = None,
    ) -> int:
        itersize = self._default_scan_itersize if itersize is None else itersize
        return self.client.delete_pattern(
            pattern, version=version, prefix=prefix, client=client, itersize=itersize
        )

    @omit_errors()
    def keys(self, search: str, version: int | None = None, client: Any = None) -> list[str]:
        return self.client.keys(search, version=version, client=client)

    @omit_errors()
    def iter_keys(
        self, search: str, itersize: int | None = None, client: Any = None, version: int | None = None
    ) -> Iterator[str]:
        return self.client.iter_keys(search, itersize=itersize, client=client, version=version)

    @omit_errors()
    def ttl(self, key: Any, version: int | None = None, client: Any = None) -> int | None:
        return self.client.ttl(key, version=version, client=client)

    @omit_errors()
    def pttl(self, key: Any, version: int | None = None, client: Any = None) -> int | None:
        return self.client.pttl(key, version=version, client=client)

    @omit_errors()
    def persist(self, key: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.persist(key, version=version, client=client)

    @omit_errors()
    def expire(self, key: Any, timeout: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.expire(key, timeout, version=version, client=client)

    @omit_errors()
    def pexpire(self, key: Any, timeout: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.pexpire(key, timeout, version=version, client=client)

    @omit_errors()
    def expire_at(self, key: Any, when: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.expire_at(key, when, version=version, client=client)

    @omit_errors()
    def pexpire_at(self, key: Any, when: Any, version: int | None = None, client: Any = None) -> bool:
        return self.client.pexpire_at(key, when, version=version, client=client)

    @omit_errors()
    def lock(
        self,
        key: Any,
        version: int | None = None,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        client: Any = None,
        thread_local: bool = True,
    ) -> Any:
        return self.client.lock(
            key,
            version=version,
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            client=client,
            thread_local=thread_local,
        )
