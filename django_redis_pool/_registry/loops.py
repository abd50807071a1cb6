"""asyncio clients: one pool per alias and event loop, created on first use in that loop.

redis-py's asyncio connections belong to the loop that opened them; a pool shared across loops
fails with "attached to a different loop". So ``get_async_redis(alias)`` looks up the running loop
first: each loop gets its own pools, never handed to another, and they are closed when the loop
shuts down (an async generator registered with the loop runs at ``loop.shutdown_asyncgens()``,
which ``asyncio.run()`` and asgiref's ``async_to_sync`` call), or by ``aclose_pools()`` (which
``django_redis_pool.asgi.with_pool_lifespan`` runs at ASGI lifespan shutdown: uvicorn >= 0.29
ends the process on SIGTERM before ``shutdown_asyncgens()``).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as AsyncRetry

from .._conf.build_errors import BUILD_ERRORS, setting_error
from .._conf.settings import DEFAULT_ALIAS
from .._pool import compat
from .._pool.async_driver import AsyncPool
from .._pool.deadline import DeadlineRetry
from .._topology.cluster_async import build_async_cluster
from .._topology.cluster_nodes import NodePools
from .._topology.entry import PoolEntry, pool_arguments
from .._topology.sentinel_async import build_async_sentinel
from . import sync as registry


class _LoopPools:
    """The pools and clients of one event loop."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.pid = os.getpid()
        self.pools: dict[str, Any] = {}
        self.clients: dict[str, Any] = {}
        self.closer: Any = None
        self.started: Any = None  # the task starting the closer, referenced so it is not collected
        self.retiring: list[Any] = []  # the tasks retiring the previous state's pools, likewise
        # States of earlier generations on the same loop: requests still running may hold their
        # clients, so their pools stay open (and may still connect) until this state closes.
        self.retired: list[_LoopPools] = []

    async def aclose(self) -> None:
        clients, pools = list(self.clients.values()), list(self.pools.values())
        retired, self.retired = self.retired, []
        self.clients.clear()
        self.pools.clear()
        for state in retired:
            await state.aclose()
        for client in clients:
            close = getattr(client, "aclose", None) or client.close
            await close()
        for pool in pools:
            await pool.disconnect()
            # An asyncio Sentinel pool's manager holds a client per sentinel: close those too.
            for sentinel in getattr(getattr(pool, "sentinel_manager", None), "sentinels", ()):
                await (getattr(sentinel, "aclose", None) or sentinel.close)()


_lock = threading.Lock()
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = weakref.WeakKeyDictionary()


def _after_fork_in_child() -> None:
    global _lock
    # A thread of the parent may have held it (its fleet publisher reads loop_pools every interval):
    # copied taken, it would never be released in the child.
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_async_redis(alias: str = DEFAULT_ALIAS) -> redis.asyncio.Redis:
    """The ``redis.asyncio.Redis`` client of ``alias`` for the running event loop (a
    ``redis.asyncio.cluster.RedisCluster`` for a Cluster alias). Call it inside async code."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "get_async_redis() needs a running event loop: call it inside an async view or coroutine "
            "(use get_redis() in sync code)."
        ) from None
    state = _loops.get(loop)
    if state is not None and state.generation == registry.generation() and state.pid == os.getpid():
        client: redis.asyncio.Redis | None = state.clients.get(alias)
        if client is not None:
            return client
    created: redis.asyncio.Redis = _create(loop, alias)  # a RedisCluster for a Cluster alias
    return created


def _create(loop: asyncio.AbstractEventLoop, alias: str) -> Any:
    entry = registry.get_entry(alias)  # an unknown alias or an invalid setting raises here
    with _lock:
        state = _loops.get(loop)
        if state is None or state.generation != registry.generation() or state.pid != os.getpid():
            previous = state
            state = _LoopPools(registry.generation())
            if previous is not None and previous.pid == os.getpid():
                # Pools of a setting that has since changed: not closed now, under commands still
                # in flight on their clients, but retired (idle connections close, in-use ones at
                # release) and closed for good with this state (loop shutdown, aclose_pools).
                state.retired.append(previous)
                state.retiring = [
                    asyncio.ensure_future(pool.retire(), loop=loop)
                    for pool in previous.pools.values()
                    if isinstance(pool, AsyncPool)
                ]
            _loops[loop] = state
            state.closer = _close_at_shutdown(state)
            # Starting the generator registers it with the loop (sys.set_asyncgen_hooks), which
            # closes it, and so these pools, in shutdown_asyncgens().
            state.started = asyncio.ensure_future(state.closer.__anext__(), loop=loop)
        if alias not in state.clients:
            state.clients[alias], pool = _build(entry)
            if pool is not None:
                state.pools[alias] = pool
        return state.clients[alias]


async def _close_at_shutdown(state: _LoopPools) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await state.aclose()


def _async_pool_arguments(entry: PoolEntry) -> dict[str, Any]:
    settings = entry.settings
    kwargs = pool_arguments(settings)
    kwargs["blocking"] = settings.blocking
    if settings.blocking and "timeout" not in kwargs:
        kwargs["timeout"] = entry.limits.pool_timeout
    if "retry" in kwargs and kwargs["retry"] is not None:
        kwargs["retry"] = _async_retry(kwargs["retry"])
    return kwargs


def _async_retry(retry: Any) -> Any:
    """redis.asyncio wants its own Retry class (same backoff, same count)."""
    if isinstance(retry, AsyncRetry):
        return retry
    if isinstance(retry, DeadlineRetry):
        return retry.asyncio_twin()
    return AsyncRetry(compat.retry_backoff(retry), compat.retry_count(retry))


def _build(entry: PoolEntry) -> tuple[Any, AsyncPool | NodePools]:
    """(client, pool) for one alias on the running loop."""
    settings = entry.settings
    pool: AsyncPool
    try:
        if entry.kind == "cluster":
            return build_async_cluster(entry)
        if entry.kind == "sentinel":
            pool = build_async_sentinel(entry, _async_pool_arguments(entry))
        elif settings.scheme == "fakeredis":
            pool = _fake_pool(entry)
        else:
            pool = AsyncPool.from_url(settings.url, **_async_pool_arguments(entry))
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc) from None
    return redis.asyncio.Redis(connection_pool=pool), pool


def _fake_pool(entry: PoolEntry) -> AsyncPool:
    try:
        from fakeredis import aioredis
    except ImportError:
        raise ImproperlyConfigured(
            f"REDIS_POOL[{entry.settings.alias!r}]['URL'] is fakeredis://, which needs the fakeredis "
            "package: pip install 'django-redis-pool[fake]'."
        ) from None
    # fakeredis >= 2.27 names it FakeAsyncRedisConnection; FakeConnection is its deprecated alias.
    connection_class = getattr(aioredis, "FakeAsyncRedisConnection", None) or aioredis.FakeConnection
    kwargs = _async_pool_arguments(entry)
    # fakeredis's asyncio connection fails redis-py's health-check PING (ConnectionError, then the
    # retries); an in-process server has no connection to check.
    kwargs.pop("health_check_interval", None)
    # The same in-process server as the alias's sync pool: sync and async views share the data.
    sync_kwargs = compat.connection_kwargs(entry.pool)
    server, db = sync_kwargs["server"], sync_kwargs.get("db", 0)
    return AsyncPool(connection_class=connection_class, server=server, **{"db": db, **kwargs})


async def aclose_pools() -> None:
    """Close the running loop's pools (for ASGI lifespan shutdown; ``asyncio.run`` does it itself)."""
    loop = asyncio.get_running_loop()
    with _lock:
        state = _loops.pop(loop, None)
    if state is not None:
        await state.aclose()


def loop_pools(alias: str) -> list[AsyncPool | NodePools]:
    """This process's asyncio pools of ``alias``, one per event loop that used it (a Cluster alias's
    nodes' pools taken together)."""
    # Under the lock: another thread's first get_async_redis() inserting a loop while this one
    # iterates would raise "dictionary changed size during iteration".
    with _lock:
        states = list(_loops.values())
    # A forked child inherits its parent's loops, but none of their pools is the child's.
    pid = os.getpid()
    return [state.pools[alias] for state in states if state.pid == pid and alias in state.pools]
