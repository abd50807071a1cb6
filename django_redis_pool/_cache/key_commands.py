"""django-redis's key commands of ``cache.client``: expiry (``ttl``, ``expire``...), ``lock``, ``keys``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class KeyCommands:
    """Mixin of CacheClient: keys made with the cache's prefix and version, TTLs read as django-redis's."""

    # CacheClient's (this is one of its mixins).
    _read: Callable[[Any], Any]
    _write: Callable[[Any], Any]
    _timeout: Callable[[Any], float | None]
    make_key: Callable[..., Any]
    make_pattern: Callable[..., Any]
    reverse_key: Callable[[str], str]

    def _ttl(self, command: str, key: Any, version: int | None, client: Any) -> int | None:
        client, nkey = self._read(client), self.make_key(key, version=version)
        left = int(getattr(client, command)(nkey))
        if left == -1:
            return None  # no expiry
        return max(left, 0)  # -2: no such key

    def ttl(self, key: Any, version: int | None = None, client: Any = None) -> int | None:
        return self._ttl("ttl", key, version, client)

    def pttl(self, key: Any, version: int | None = None, client: Any = None) -> int | None:
        return self._ttl("pttl", key, version, client)

    def persist(self, key: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._write(client).persist(self.make_key(key, version=version)))

    def expire(self, key: Any, timeout: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._write(client).expire(self.make_key(key, version=version), self._timeout(timeout)))

    def pexpire(self, key: Any, timeout: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._write(client).pexpire(self.make_key(key, version=version), self._timeout(timeout)))

    def expire_at(self, key: Any, when: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._write(client).expireat(self.make_key(key, version=version), when))

    def pexpire_at(self, key: Any, when: Any, version: int | None = None, client: Any = None) -> bool:
        return bool(self._write(client).pexpireat(self.make_key(key, version=version), when))

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
        return self._write(client).lock(
            self.make_key(key, version=version),
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            thread_local=thread_local,
        )

    def iter_keys(
        self, search: str, itersize: int | None = None, client: Any = None, version: int | None = None
    ) -> Iterator[str]:
        for item in self._read(client).scan_iter(
            match=self.make_pattern(search, version=version), count=itersize
        ):
            yield self.reverse_key(item.decode() if isinstance(item, bytes) else item)

    def keys(self, search: str, version: int | None = None, client: Any = None) -> list[str]:
        found = self._read(client).keys(self.make_pattern(search, version=version))
        return [self.reverse_key(k.decode() if isinstance(k, bytes) else k) for k in found]
