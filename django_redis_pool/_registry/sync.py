"""The registry: one pool and one client per alias, per process.

``build_all()`` runs at ``AppConfig.ready()`` and again when ``REDIS_POOL`` changes;
``get_redis()`` is a dict lookup. Fork safety comes from redis-py itself: every pool
compares its pid on each checkout and starts afresh in a forked child without
touching the parent's sockets; ``stats`` resets its counters and renames connections.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.core.exceptions import ImproperlyConfigured

from .._conf.fleet import get_fleet_settings
from .._conf.settings import DEFAULT_ALIAS, PoolSettings, get_settings
from .._pool.thread_driver import Pool
from .._topology import cluster, sentinel
from .._topology import single as server
from .._topology.entry import PoolEntry as PoolEntry  # the registry's entry type, for the public face
from ..exceptions import NoSinglePoolError, UnknownAliasError

logger = logging.getLogger("django_redis_pool")


_lock = threading.Lock()
# Replaced whole by each build, never changed in place (but for a Cluster client joining _clients):
# readers need no lock. A second dict of clients alone keeps get_redis() to one lookup.
_entries: dict[str, PoolEntry] = {}
_clients: dict[str, redis.Redis] = {}
_built = False
_build_error: ImproperlyConfigured | None = None
# Bumped by every build: asyncio pools of an older generation are replaced on their loop's next use.
_generation = 0


def generation() -> int:
    return _generation


def _build_entry(settings: PoolSettings) -> PoolEntry:
    builder = {"server": server.build, "sentinel": sentinel.build, "cluster": cluster.build}[settings.kind]
    entry = builder(settings)
    logger.debug("django_redis_pool: built %r", entry)
    return entry


def build_all(raise_errors: bool = True) -> None:
    """Build one pool per alias of the current setting, then swap them in for the current ones.

    Atomic for concurrent callers: the new pools are built before anything changes, and each of
    the registry's dicts is replaced in one assignment (never cleared, never filled in place), so a
    caller sees the old pools or the new ones, never none. The old pools are retired, not closed:
    their idle connections close now, in-use ones when their callers release them.
    """
    global _entries, _clients, _built, _build_error, _generation
    with _lock:
        previous = _entries
        try:
            entries = {alias: _build_entry(s) for alias, s in get_settings().items()}
            get_fleet_settings()  # REDIS_POOL_FLEET is validated with the aliases it names
        except ImproperlyConfigured as exc:
            _build_error, _built = exc, True
            _entries, _clients = {}, {}
            _generation += 1
            _retire(previous)
            if raise_errors:
                raise
            logger.error("django_redis_pool: %s", exc)
            return
        # A Cluster client connects when it is built: it joins _clients on its first get_redis().
        clients = {a: e.client for a, e in entries.items() if e.kind != "cluster"}
        _entries, _clients = entries, clients
        _build_error, _built = None, True
        _generation += 1  # asyncio pools follow on their loop's next get_async_redis()
        _retire(previous)


def _retire(entries: dict[str, PoolEntry]) -> None:
    for entry in entries.values():
        entry.retire()


def close_all() -> None:
    """Disconnect every pool of this process (at exit)."""
    global _entries, _clients
    with _lock:
        previous = _entries
        _entries, _clients = {}, {}
        for entry in previous.values():
            entry.close()


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
    """The process-wide client of ``alias``: a ``redis.Redis`` on its pool (a
    ``redis.cluster.RedisCluster`` for a Cluster alias, built on its first use)."""
    try:
        return _clients[alias]
    except KeyError:
        pass
    entry = get_entry(alias)
    client: redis.Redis = entry.client  # a RedisCluster for a Cluster alias
    with _lock:
        if _entries.get(alias) is entry:
            _clients[alias] = client
    return client


def get_entry(alias: str = DEFAULT_ALIAS) -> PoolEntry:
    try:
        return _entries[alias]
    except KeyError:
        raise _missing(alias) from None


def get_pool(alias: str = DEFAULT_ALIAS) -> Pool:
    """The redis-py pool object behind ``get_redis(alias)``. A Cluster alias has one pool per node
    and no single one: :class:`NoSinglePoolError` (use ``get_stats(alias)`` and ``get_redis(alias)``)."""
    pool = get_entry(alias).pool
    if pool is None:
        raise NoSinglePoolError(alias)
    return pool


def entries() -> dict[str, PoolEntry]:
    """A snapshot of the built pools, by alias."""
    return dict(_entries)


def build_error() -> ImproperlyConfigured | None:
    return _build_error
