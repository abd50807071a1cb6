"""The command layer of PooledRedisCache: django-redis's ``DefaultClient`` behaviour on this app's pools.

``cache.client`` is one of these. Keys are made with the cache's prefix, version and key function,
values encoded by the codec into the bytes django-redis stores; each command runs on the process-wide
client of a pool alias (``get_client(write=)``: the primary for writes, a random replica for reads).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, get_key_func
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ResponseError

from .._registry import sync as registry
from .collections import CollectionCommands
from .key_commands import KeyCommands
from .keys import CacheKey, make_key, make_pattern
from .sorted_sets import SortedSetCommands

# Only the key's existence is checked before INCRBY, atomically (django-redis's script).
INCR_EXISTING = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end "
    "return false"
)
MISSING = object()
INCR_ANY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


def default_reverse_key(key: str) -> str:
    return key.split(":", 2)[2]


class CacheClient(KeyCommands, CollectionCommands, SortedSetCommands):
    """django-redis's client API (``cache.client``), commands on the cache's pool aliases."""

    def __init__(self, backend: Any, pool_aliases: list[str], codec: Any, options: Mapping[str, Any]) -> None:
        self._backend = backend
        self._server: list[Any] = list(pool_aliases)  # django-redis's name: one entry per server
        self._clients: list[Any] = [None] * len(self._server)
        self._generation = registry.generation()
        self._codec = codec
        # A copy: code that edits cache.client._options (django-redis's own tests do) must not edit
        # the CACHES setting, from which the pools are rebuilt.
        self._options = dict(options)
        self._replica_read_only = bool(options.get("REPLICA_READ_ONLY", True))
        self._serializer = getattr(codec, "serializer", codec)  # what django-redis's tests inspect
        self._compressor = getattr(codec, "compressor", None)
        self.connection_factory = IdleDisconnector()
        self.reverse_key = get_key_func(backend._params.get("REVERSE_KEY_FUNCTION") or default_reverse_key)

    # -- clients -----------------------------------------------------------------------------

    def get_next_client_index(self, write: bool = True, tried: list[int] | None = None) -> int:
        if tried and len(tried) < len(self._server):
            return random.choice([i for i in range(len(self._server)) if i not in tried])
        if write or len(self._server) == 1:
            return 0
        return random.randint(1, len(self._server) - 1)

    def get_client(self, write: bool = True, tried: list[int] | None = None) -> redis.Redis:
        """The pooled ``redis.Redis`` of the primary (``write=True``) or of a replica."""
        client: redis.Redis = self.get_client_with_index(write=write, tried=tried)[0]
        return client

    def get_client_with_index(self, write: bool = True, tried: list[int] | None = None) -> tuple[Any, int]:
        index = self.get_next_client_index(write=write, tried=tried)
        if self._generation != registry.generation():
            # REDIS_POOL or CACHES changed: the registry built new pools.
            self._clients = [None] * len(self._server)
            self._generation = registry.generation()
        if self._clients[index] is None:
            try:
                self._clients[index] = registry.get_redis(self._server[index])
            except ImproperlyConfigured as exc:
                raise ImproperlyConfigured(
                    f"{self._backend._describe()} cannot reach its pool: {exc}"
                ) from exc
        return self._clients[index], index

    def _read(self, client: Any) -> Any:
        return self.get_client(write=False) if client is None else client

    def _write(self, client: Any) -> Any:
        return self.get_client(write=True) if client is None else client

    # -- keys and values ---------------------------------------------------------------------

    def make_key(self, key: Any, version: int | None = None, prefix: str | None = None) -> CacheKey:
        return make_key(self._backend, key, version, prefix)

    def make_pattern(self, pattern: Any, version: int | None = None, prefix: str | None = None) -> CacheKey:
        return make_pattern(self._backend, pattern, version, prefix)

    def encode(self, value: Any, *, allow_int: bool = True) -> bytes | int:
        if allow_int:
            return cast(bytes | int, self._codec.encode(value))
        # django-redis serializes even an int when it is a sorted-set member (zadd).
        return cast(bytes, self._codec.serialize(value))

    def decode(self, value: Any) -> Any:
        return self._codec.decode(value)

    def _timeout(self, timeout: Any) -> float | None:
        return cast(float | None, self._backend.default_timeout if timeout is DEFAULT_TIMEOUT else timeout)

    # -- Django's cache API ------------------------------------------------------------------

    def set(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
        nx: bool = False,
        xx: bool = False,
    ) -> bool:
        timeout = self._timeout(timeout)
        px = None if timeout is None else int(timeout * 1000)
        if px is not None and px <= 0:
            if nx:  # an add() that expires at once: only whether the key was absent
                return not self.has_key(key, version=version, client=client)
            return bool(self.delete(key, version=version, client=client))
        nkey, nvalue = self.make_key(key, version=version), self.encode(value)
        if client is not None:
            return bool(client.set(nkey, nvalue, nx=nx, xx=xx, px=px))
        tried: list[int] = []
        while True:
            target, index = self.get_client_with_index(write=True, tried=tried)
            try:
                return bool(target.set(nkey, nvalue, nx=nx, xx=xx, px=px))
            except (redis.ConnectionError, redis.TimeoutError):
                # REPLICA_READ_ONLY False: django-redis tries the other servers of LOCATION.
                tried.append(index)
                if self._replica_read_only or len(tried) >= len(self._server):
                    raise

    def add(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
    ) -> bool:
        return self.set(key, value, timeout, version=version, client=client, nx=True)

    def get(self, key: Any, default: Any = None, version: int | None = None, client: Any = None) -> Any:
        value = self._read(client).get(self.make_key(key, version=version))
        return default if value is None else self.decode(value)

    def delete(
        self, key: Any, version: int | None = None, prefix: str | None = None, client: Any = None
    ) -> int:
        # Not int(): on a pipeline (set_many with a timeout of 0) the reply comes at execute().
        return cast(int, self._write(client).delete(self.make_key(key, version=version, prefix=prefix)))

    def delete_many(self, keys: Iterable[Any], version: int | None = None, client: Any = None) -> int:
        made = [self.make_key(key, version=version) for key in keys]
        return int(self._write(client).delete(*made)) if made else 0  # never a bare DEL

    def delete_pattern(
        self,
        pattern: str,
        version: int | None = None,
        prefix: str | None = None,
        client: Any = None,
        itersize: int | None = None,
    ) -> int:
        client = self._write(client)
        count = 0
        pipeline = client.pipeline()
        for key in client.scan_iter(
            match=self.make_pattern(pattern, version=version, prefix=prefix), count=itersize
        ):
            pipeline.delete(key)
            count += 1
        pipeline.execute()
        return count

    def clear(self, client: Any = None) -> bool:
        return bool(self._write(client).flushdb())

    def get_many(self, keys: Iterable[Any], version: int | None = None, client: Any = None) -> dict[Any, Any]:
        made = {self.make_key(key, version=version): key for key in keys}
        if not made:
            return {}
        values = self._read(client).mget(*made)
        return {made[k]: self.decode(v) for k, v in zip(made, values, strict=True) if v is not None}

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
    ) -> list[Any]:
        return self._pipelined(self.set, data, timeout, version, client)

    def _pipelined(
        self,
        store: Callable[..., bool],
        data: Mapping[Any, Any],
        timeout: Any,
        version: int | None,
        client: Any,
    ) -> list[Any]:
        """set_many: each item stored by ``store`` (a ``set``) on one pipeline, sent at the end."""
        pipeline = self._write(client).pipeline()
        for key, value in data.items():
            store(key, value, timeout, version=version, client=pipeline)
        pipeline.execute()
        return []

    def has_key(self, key: Any, version: int | None = None, client: Any = None) -> bool:
        return int(self._read(client).exists(self.make_key(key, version=version))) == 1

    def incr(
        self,
        key: Any,
        delta: int = 1,
        version: int | None = None,
        client: Any = None,
        ignore_key_check: bool = False,
    ) -> Any:
        client = self._write(client)
        nkey = self.make_key(key, version=version)
        try:
            value = client.eval(INCR_ANY if ignore_key_check else INCR_EXISTING, 1, nkey, delta)
        except ResponseError:
            # Past 2**63-1 (stored as digits Redis cannot add to): read, add, write back with its TTL.
            timeout = self.ttl(nkey, client=client)
            current = self.get(nkey, default=MISSING, client=client)
            if current is MISSING:
                raise ValueError(f"Key {key!r} not found.") from None
            if not isinstance(current, int) or isinstance(current, bool):
                raise  # not a number: Redis's error, as Django's RedisCache raises
            value = current + delta
            self.set(nkey, value, timeout=timeout, client=client)
            return value
        if value is None or value is False:
            raise ValueError(f"Key {key!r} not found.")
        return value

    def decr(self, key: Any, delta: int = 1, version: int | None = None, client: Any = None) -> Any:
        return self.incr(key, -delta, version=version, client=client)

    def incr_version(self, key: Any, delta: int = 1, version: int | None = None, client: Any = None) -> int:
        client = self._write(client)
        version = self._backend.version if version is None else version
        old = self.make_key(key, version)
        value = self.get(old, default=MISSING, client=client)
        if value is MISSING:
            raise ValueError(f"Key {key!r} not found.")
        ttl = self.ttl(old, client=client)
        original = key.original_key() if isinstance(key, CacheKey) else key
        self.set(self.make_key(original, version + delta), value, timeout=ttl, client=client)
        self.delete(old, client=client)
        return version + delta

    def touch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None, client: Any = None
    ) -> bool:
        timeout = self._timeout(timeout)
        client, nkey = self._write(client), self.make_key(key, version=version)
        if timeout is None:
            return bool(client.persist(nkey))
        return bool(client.pexpire(nkey, int(timeout * 1000)))

    def close(self) -> None:
        """Django calls it at the end of each request: the pools stay, unless CLOSE_CONNECTION asks."""
        live = self._backend._params.get("OPTIONS", {})  # CACHES as it is now
        default = live.get("CLOSE_CONNECTION", getattr(settings, "DJANGO_REDIS_CLOSE_CONNECTION", False))
        if self._options.get("CLOSE_CONNECTION", default):
            for client in self._clients:
                if client is not None:
                    self.connection_factory.disconnect(client)
            self._clients = [None] * len(self._server)


class IdleDisconnector:
    """``cache.client.connection_factory``: django-redis's hook, whose ``disconnect(client)`` here
    closes the idle connections of the client's pool (connections in use by other threads stay)."""

    def disconnect(self, client: Any) -> None:
        client.connection_pool.disconnect(inuse_connections=False)
