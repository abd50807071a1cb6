"""django-redis's set and hash commands: members and values encoded like cache values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class CollectionCommands:
    """Set (``sadd``...) and hash (``hset``...) methods of ``cache.client``; see CacheClient."""

    _options: Mapping[str, Any]

    # CacheClient's (this is one of its mixins).
    _read: Callable[[Any], Any]
    _write: Callable[[Any], Any]
    make_key: Callable[..., Any]
    encode: Callable[..., bytes | int]
    decode: Callable[[Any], Any]

    def _keys(self, keys: tuple[Any, ...], version: int | None) -> list[Any]:
        return [self.make_key(key, version=version) for key in keys]

    def _decoded_set(self, values: Any) -> set[Any]:
        return {self.decode(value) for value in values}

    def _has_compression_enabled(self) -> bool:
        return self._options.get(
            "COMPRESSOR", "django_redis.compressors.identity.IdentityCompressor"
        ) not in (
            "django_redis.compressors.identity.IdentityCompressor",
            "identity",
        )

    def sadd(self, key: Any, *values: Any, version: int | None = None, client: Any = None) -> int:
        encoded = [self.encode(value) for value in values]
        return int(self._write(client).sadd(self.make_key(key, version=version), *encoded))

    def scard(self, key: Any, version: int | None = None, client: Any = None) -> int:
        return int(self._read(client).scard(self.make_key(key, version=version)))

    def sdiff(self, *keys: Any, version: int | None = None, client: Any = None) -> set[Any]:
        return self._decoded_set(self._read(client).sdiff(*self._keys(keys, version)))

    def sdiffstore(
        self,
        dest: Any,
        *keys: Any,
        version_dest: int | None = None,
        version_keys: int | None = None,
        client: Any = None,
    ) -> int:
        dest = self.make_key(dest, version=version_dest)
        return int(self._write(client).sdiffstore(dest, *self._keys(keys, version_keys)))

    def sinter(self, *keys: Any, version: int | None = None, client: Any = None) -> set[Any]:
        return self._decoded_set(self._read(client).sinter(*self._keys(keys, version)))

    def sinterstore(self, dest: Any, *keys: Any, version: int | None = None, client: Any = None) -> int:
        dest = self.make_key(dest, version=version)
        return int(self._write(client).sinterstore(dest, *self._keys(keys, version)))

    def sunion(self, *keys: Any, version: int | None = None, client: Any = None) -> set[Any]:
        return self._decoded_set(self._read(client).sunion(*self._keys(keys, version)))

    def sunionstore(
        self, destination: Any, *keys: Any, version: int | None = None, client: Any = None
    ) -> int:
        destination = self.make_key(destination, version=version)
        return int(self._write(client).sunionstore(destination, *self._keys(keys, version)))

    def smismember(
        self, key: Any, *members: Any, version: int | None = None, client: Any = None
    ) -> list[bool]:
        encoded = [self.encode(member) for member in members]
        return [bool(v) for v in self._read(client).smismember(self.make_key(key, version=version), *encoded)]

    def sismember(self, key: Any, member: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._read(client).sismember(self.make_key(key, version=version), self.encode(member)))

    def smembers(self, key: Any, version: int | None = None, client: Any = None) -> set[Any]:
        return self._decoded_set(self._read(client).smembers(self.make_key(key, version=version)))

    def smove(
        self, source: Any, destination: Any, member: Any, version: int | None = None, client: Any = None
    ) -> bool:
        # As django-redis: the destination key takes the cache's version, not ``version``.
        source, destination = self.make_key(source, version=version), self.make_key(destination)
        return bool(self._write(client).smove(source, destination, self.encode(member)))

    def _decoded(self, result: Any, as_set: bool) -> Any:
        if result is None:
            return None
        if isinstance(result, list):
            return self._decoded_set(result) if as_set else [self.decode(v) for v in result]
        return self.decode(result)

    def spop(self, key: Any, count: int | None = None, version: int | None = None, client: Any = None) -> Any:
        return self._decoded(
            self._write(client).spop(self.make_key(key, version=version), count), as_set=True
        )

    def srandmember(
        self, key: Any, count: int | None = None, version: int | None = None, client: Any = None
    ) -> Any:
        result = self._read(client).srandmember(self.make_key(key, version=version), count)
        return self._decoded(result, as_set=False)

    def srem(self, key: Any, *members: Any, version: int | None = None, client: Any = None) -> int:
        encoded = [self.encode(member) for member in members]
        return int(self._write(client).srem(self.make_key(key, version=version), *encoded))

    def _match(self, match: str | None) -> Any:
        if match and self._has_compression_enabled():
            raise ValueError("Using match with compression is not supported.")
        return self.encode(match) if match else None

    def sscan(
        self,
        key: Any,
        match: str | None = None,
        count: int | None = 10,
        version: int | None = None,
        client: Any = None,
    ) -> set[Any]:
        pattern = self._match(match)
        _, found = self._read(client).sscan(self.make_key(key, version=version), match=pattern, count=count)
        return self._decoded_set(found)

    def sscan_iter(
        self,
        key: Any,
        match: str | None = None,
        count: int | None = 10,
        version: int | None = None,
        client: Any = None,
    ) -> Iterator[Any]:
        pattern = self._match(match)
        for value in self._read(client).sscan_iter(
            self.make_key(key, version=version), match=pattern, count=count
        ):
            yield self.decode(value)

    def hset(
        self,
        key: Any,
        field: Any = None,
        value: Any = None,
        mapping: Mapping[Any, Any] | None = None,
        version: int | None = None,
        client: Any = None,
    ) -> int:
        encoded = None if mapping is None else {f: self.encode(v) for f, v in mapping.items()}
        return int(
            self._write(client).hset(
                self.make_key(key, version=version),
                key=field,
                value=None if value is None else self.encode(value),
                mapping=encoded,
            )
        )

    def hdel(self, key: Any, field: Any, version: int | None = None, client: Any = None) -> int:
        return int(self._write(client).hdel(self.make_key(key, version=version), field))

    def hlen(self, key: Any, version: int | None = None, client: Any = None) -> int:
        return int(self._read(client).hlen(self.make_key(key, version=version)))

    def hkeys(self, key: Any, version: int | None = None, client: Any = None) -> list[str]:
        fields = self._read(client).hkeys(self.make_key(key, version=version))
        return [f.decode() if isinstance(f, bytes) else f for f in fields]

    def hexists(self, key: Any, field: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._read(client).hexists(self.make_key(key, version=version), field))
