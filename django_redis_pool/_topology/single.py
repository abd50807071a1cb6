"""Single-server aliases: ``redis://``, ``rediss://``, ``unix://`` and the in-process ``fakeredis://``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
from django.core.exceptions import ImproperlyConfigured

from .._conf.build_errors import BUILD_ERRORS, setting_error
from .._conf.settings import PoolSettings
from .._pool.thread_driver import BlockingPool, NonBlockingPool, Pool
from .entry import PoolEntry, effective_limits, pool_arguments


def _fake_backend(settings: PoolSettings) -> dict[str, Any]:
    """Pool arguments for fakeredis://: its connection class and one in-process server per alias."""
    try:
        import fakeredis
    except ImportError:
        raise ImproperlyConfigured(
            f"REDIS_POOL[{settings.alias!r}]['URL'] is fakeredis://, which needs the fakeredis "
            "package: pip install 'django-redis-pool[fake]'."
        ) from None
    # fakeredis >= 2.27 names it FakeRedisConnection; FakeConnection is its deprecated alias.
    connection_class = getattr(fakeredis, "FakeRedisConnection", None) or getattr(fakeredis, "FakeConnection")  # noqa: B009
    db = urlsplit(settings.url).path.lstrip("/")
    # OPTIONS may give the db when the path does not (conf refuses both).
    return {
        "connection_class": connection_class,
        "server": fakeredis.FakeServer(),
        **({"db": int(db)} if db else {}),
    }


def build_pool(settings: PoolSettings) -> Pool:
    """A redis-py pool for one alias; no connection is opened."""
    pool_class = BlockingPool if settings.blocking else NonBlockingPool
    kwargs = pool_arguments(settings)
    try:
        if settings.scheme == "fakeredis":
            return pool_class(**_fake_backend(settings), **kwargs)
        return pool_class.from_url(settings.url, **kwargs)
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc) from None


def build(settings: PoolSettings) -> PoolEntry:
    pool = build_pool(settings)
    limits = effective_limits(settings, pool)
    return PoolEntry(settings, limits, pool, redis.Redis(connection_pool=pool))
