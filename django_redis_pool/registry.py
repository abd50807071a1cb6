"""The registry: one pool and one client per alias, per process.

``build_all()`` runs at ``AppConfig.ready()`` and again when ``REDIS_POOL`` changes;
``get_redis()`` is a dict lookup. Fork safety comes from redis-py itself: every pool
compares its pid on each checkout and starts afresh in a forked child without
touching the parent's sockets; ``stats`` resets its counters and renames connections.
"""

from __future__ import annotations

import copy
import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from django.core.exceptions import ImproperlyConfigured
from redis.retry import Retry

from .build_errors import BUILD_ERRORS, setting_error
from .conf import DEFAULT_ALIAS, PoolSettings, get_settings
from .exceptions import UnknownAliasError
from .pools import BlockingPool, NonBlockingPool, Pool

logger = logging.getLogger("django_redis_pool")


@dataclass(frozen=True)
class Limits:
    """What redis-py will actually use, whether or not the setting gave it."""

    socket_timeout: float | None
    socket_connect_timeout: float | None
    max_connections: int
    blocking: bool
    pool_timeout: float | None
    retries: int = 0
    retry_backoff: str | None = None


@dataclass(frozen=True)
class PoolEntry:
    settings: PoolSettings
    pool: Pool
    client: redis.Redis
    limits: Limits


_lock = threading.Lock()
_entries: dict[str, PoolEntry] = {}
# A second dict of clients alone keeps get_redis() to one lookup.
_clients: dict[str, redis.Redis] = {}
_built = False
_build_error: ImproperlyConfigured | None = None


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


def default_retry() -> Retry | None:
    """A copy of the retry policy ``redis.Redis()`` has by default in the installed redis-py.

    A client built on a pool takes its retries from the pool's connection arguments, which have
    none unless given: without this, pooled clients would silently never retry (redis-py 8's
    ``redis.Redis()`` retries 3 times with exponential backoff; redis-py 5's not at all).
    """
    default = inspect.signature(redis.Redis.__init__).parameters["retry"].default
    return copy.deepcopy(default) if isinstance(default, Retry) else None


def describe_retry(retry: Any) -> tuple[int, str | None]:
    """(retries, backoff class name) of a connection's redis-py ``Retry`` object."""
    if retry is None:
        return 0, None
    retries = retry.get_retries() if hasattr(retry, "get_retries") else retry._retries
    backoff = getattr(retry, "_backoff", None)
    return int(retries), type(backoff).__name__ if backoff is not None else None


def build_pool(settings: PoolSettings) -> Pool:
    """A redis-py pool for one alias; no connection is opened."""
    pool_class = BlockingPool if settings.blocking else NonBlockingPool
    kwargs: dict[str, Any] = {
        "alias": settings.alias,
        "safe_url": settings.safe_url,
        "client_name_prefix": settings.client_name,
        "max_lifetime": settings.max_lifetime,
        "max_idle": settings.max_idle,
        "leak_warning": settings.leak_warning,
        **settings.kwargs,
    }
    if "retry" not in kwargs:
        kwargs["retry"] = default_retry()
    try:
        if settings.scheme == "fakeredis":
            return pool_class(**_fake_backend(settings), **kwargs)
        return pool_class.from_url(settings.url, **kwargs)
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc) from None


def effective_limits(settings: PoolSettings, pool: Pool) -> Limits:
    # Build (never connect) one connection the way the pool would: this reads the
    # installed redis-py's defaults and rejects bad OPTIONS before any request.
    connection_class = pool.connection_class
    kwargs = pool.connection_kwargs
    try:
        probe = connection_class(**kwargs)
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc, kwargs, lambda rest: connection_class(**rest)) from None
    retries, backoff = describe_retry(getattr(probe, "retry", None))
    return Limits(
        socket_timeout=getattr(probe, "socket_timeout", None),
        socket_connect_timeout=getattr(probe, "socket_connect_timeout", None),
        max_connections=pool.max_connections,
        blocking=pool.blocking,
        pool_timeout=pool.timeout if pool.blocking else None,
        retries=retries,
        retry_backoff=backoff,
    )


def _build_entry(settings: PoolSettings) -> PoolEntry:
    pool = build_pool(settings)
    limits = effective_limits(settings, pool)
    client = redis.Redis(connection_pool=pool)
    logger.debug("django_redis_pool: built %r", pool)
    return PoolEntry(settings=settings, pool=pool, client=client, limits=limits)


def build_all(raise_errors: bool = True) -> None:
    """Close the current pools and build one per alias of the current setting."""
    global _built, _build_error
    with _lock:
        _close_entries()
        try:
            entries = {alias: _build_entry(s) for alias, s in get_settings().items()}
        except ImproperlyConfigured as exc:
            _build_error = exc
            _built = True
            if raise_errors:
                raise
            logger.error("django_redis_pool: %s", exc)
            return
        _entries.update(entries)
        _clients.update({alias: entry.client for alias, entry in entries.items()})
        _build_error = None
        _built = True


def _close_entries() -> None:
    entries = list(_entries.values())
    _clients.clear()
    _entries.clear()
    for entry in entries:
        entry.pool.disconnect()


def close_all() -> None:
    """Disconnect every pool of this process (at exit, and when the setting changes)."""
    with _lock:
        _close_entries()


def _missing(alias: str) -> ImproperlyConfigured:
    if _build_error is not None:
        return ImproperlyConfigured(f"REDIS_POOL is invalid, so no pool was built: {_build_error}")
    if not _built:
        return ImproperlyConfigured(
            "django_redis_pool has no pools yet: add 'django_redis_pool' to INSTALLED_APPS "
            "and call it after Django has set up (django.setup())."
        )
    configured = ", ".join(repr(a) for a in _entries) or "none (set REDIS_POOL)"
    return UnknownAliasError(f"REDIS_POOL has no alias {alias!r}; configured aliases: {configured}.")


def get_redis(alias: str = DEFAULT_ALIAS) -> redis.Redis:
    """The process-wide ``redis.Redis`` client on ``alias``'s pool."""
    try:
        return _clients[alias]
    except KeyError:
        raise _missing(alias) from None


def get_entry(alias: str = DEFAULT_ALIAS) -> PoolEntry:
    try:
        return _entries[alias]
    except KeyError:
        raise _missing(alias) from None


def get_pool(alias: str = DEFAULT_ALIAS) -> redis.ConnectionPool:
    """The redis-py pool object behind ``get_redis(alias)``."""
    return get_entry(alias).pool


def entries() -> dict[str, PoolEntry]:
    """A snapshot of the built pools, by alias."""
    return dict(_entries)


def build_error() -> ImproperlyConfigured | None:
    return _build_error


def get_stats(alias: str | None = None) -> dict[str, Any]:
    """Counters of one alias's pool, or of every alias when ``alias`` is None."""
    if alias is not None:
        return get_entry(alias).pool.stats()
    return {name: entry.pool.stats() for name, entry in entries().items()}
