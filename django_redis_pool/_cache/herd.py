"""django-redis's ``HerdClient``: values stored with their own expiry, so that one caller recomputes early.

A value is stored as the tuple ``(Marker(), value, expires_at)`` with a Redis TTL ``CACHE_HERD_TIMEOUT``
(default 60 s) longer than asked. Once ``expires_at`` has passed, ``get`` reports a miss with a
probability growing over that window, so one caller refreshes while the others still read the old
value. The stored bytes are django-redis's: its ``Marker`` class is pickled when django-redis is
installed (so either backend reads the other's values), this module's otherwise.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from .client import CacheClient


class Marker:
    """Tags a herd-packed value (django-redis's ``django_redis.client.herd.Marker`` when installed)."""


try:  # the class django-redis pickles, for values both backends read
    from django_redis.client.herd import Marker as _DjangoRedisMarker
except ImportError:  # pragma: no cover - django-redis is in the dev extra
    _DjangoRedisMarker = Marker
MARKERS = (Marker, _DjangoRedisMarker)


def is_stale(overdue: float, herd_timeout: int) -> bool:
    """Whether a caller ``overdue`` seconds past the value's expiry should refresh it."""
    return overdue >= herd_timeout or overdue + random.randint(1, herd_timeout) >= herd_timeout


class HerdClient(CacheClient):
    """CLIENT_CLASS 'django_redis.client.HerdClient'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._herd_timeout = int(getattr(settings, "CACHE_HERD_TIMEOUT", 60))

    def _pack(self, value: Any, timeout: float) -> tuple[Any, Any, float]:
        return _DjangoRedisMarker(), value, timeout + int(time.time())

    def _unpack(self, value: Any) -> tuple[Any, bool]:
        """(value, whether this caller should refresh it)."""
        if not isinstance(value, tuple) or len(value) != 3 or not isinstance(value[0], MARKERS):
            return value, False
        _, unpacked, expires_at = value
        now = int(time.time())
        return unpacked, expires_at < now and is_stale(now - expires_at, self._herd_timeout)

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
        if timeout is None or timeout <= 0:
            return super().set(key, value, timeout, version=version, client=client, nx=nx, xx=xx)
        packed = self._pack(value, timeout)
        return super().set(
            key, packed, timeout + self._herd_timeout, version=version, client=client, nx=nx, xx=xx
        )

    def get(self, key: Any, default: Any = None, version: int | None = None, client: Any = None) -> Any:
        value, refresh = self._unpack(super().get(key, default=default, version=version, client=client))
        return default if refresh else value

    def get_many(self, keys: Iterable[Any], version: int | None = None, client: Any = None) -> dict[Any, Any]:
        found = super().get_many(keys, version=version, client=client)
        unpacked = {key: self._unpack(value) for key, value in found.items()}
        return {key: None if refresh else value for key, (value, refresh) in unpacked.items()}

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        client: Any = None,
        herd: bool = True,
    ) -> list[Any]:
        return self._pipelined(self.set if herd else super().set, data, timeout, version, client)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "HerdClient stores values packed with their expiry: incr() cannot add to them."
        )

    def decr(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "HerdClient stores values packed with their expiry: decr() cannot add to them."
        )

    def touch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None, client: Any = None
    ) -> bool:
        client = self._write(client)
        value = self.get(key, version=version, client=client)
        if value is None:
            return False
        self.set(key, value, timeout=timeout, version=version, client=client)
        return True
