"""redis-py pool subclasses that count what happens to them, and the stats they report.

On the hot path (every checkout) the counting takes no lock and costs a few hundred
nanoseconds; release() is not wrapped at all. Everything else is computed when stats
are asked for. :func:`_read_pool_internals` is the only place that touches redis-py's
private pool attributes, but for the O(1) reads on the hot path in the two
``get_connection`` overrides.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
import weakref
from typing import Any, NoReturn

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .exceptions import PoolExhaustedError
from .naming import format_client_name

STATS_KEYS = (
    "max_connections",
    "in_use",
    "idle",
    "peak_in_use",
    "connections_created",
    "checkouts",
    "waits",
    "wait_ms_total",
    "wait_ms_max",
    "exhausted",
    "connection_errors",
)

_live_pools: weakref.WeakSet[CountingPoolMixin] = weakref.WeakSet()


class CountingPoolMixin:
    """Counts checkouts, waits and failures; names connections; redacts its repr."""

    # Set by redis-py's pool __init__.
    max_connections: int
    pid: int
    connection_kwargs: dict[str, Any]

    def __init__(
        self,
        *args: Any,
        alias: str,
        safe_url: str,
        client_name_prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.alias = alias
        self.safe_url = safe_url
        self.client_name_prefix = client_name_prefix
        self._reset_counters()
        super().__init__(*args, **kwargs)
        _live_pools.add(self)

    def _reset_counters(self) -> None:
        # Hot-path counters are lock-free: next() on an itertools.count is atomic in
        # CPython, and peak is a max() that a rare thread race can only under-report.
        # The rare events (waits, failures, new connections) take a lock.
        self._checkouts = itertools.count()
        self._peak = 0
        self._stats_lock = threading.Lock()
        self._created = 0
        self._waits = 0
        self._wait_total = 0.0
        self._wait_max = 0.0
        self._exhausted = 0
        self._connection_errors = 0

    @property
    def blocking(self) -> bool:
        return isinstance(self, redis.BlockingConnectionPool)

    @property
    def pool_timeout(self) -> float | None:
        """Seconds a caller waits for a free connection (None: forever, or not blocking)."""
        return getattr(self, "timeout", None) if self.blocking else None

    def reset(self) -> None:
        # redis-py calls reset() from __init__ and, in a forked child, before the child's
        # first use: the child's connections must carry the child's pid in their name.
        if self.client_name_prefix is not None:
            self.connection_kwargs["client_name"] = format_client_name(
                self.client_name_prefix, self.alias, os.getpid()
            )
        super().reset()  # type: ignore[misc]

    def _record_wait(self, started: float) -> None:
        waited = time.perf_counter() - started
        with self._stats_lock:
            self._waits += 1
            self._wait_total += waited
            self._wait_max = max(self._wait_max, waited)

    def _raise_checkout_error(self, exc: BaseException) -> NoReturn:
        error = self._checkout_failed(exc)
        if error is exc:
            raise exc
        raise error from exc

    def _checkout_failed(self, exc: BaseException) -> BaseException:
        exhausted = isinstance(exc, PoolExhaustedError) or (
            isinstance(exc, RedisConnectionError) and isinstance(exc.__context__, queue.Empty)
        )
        with self._stats_lock:
            if exhausted:
                self._exhausted += 1
            elif isinstance(exc, RedisError | OSError):
                self._connection_errors += 1
        if exhausted and not isinstance(exc, PoolExhaustedError):
            return PoolExhaustedError(self.alias, self.max_connections, self.pool_timeout)
        return exc

    def make_connection(self) -> Any:
        try:
            connection = super().make_connection()  # type: ignore[misc]
        except RedisConnectionError as exc:
            # Only the non-blocking pool raises here, and only when it is full.
            raise PoolExhaustedError(self.alias, self.max_connections, None) from exc
        with self._stats_lock:
            self._created += 1
        return connection

    def stats(self) -> dict[str, int | float]:
        """This process's counters for this pool (see ``STATS_KEYS``)."""
        in_use, idle = _read_pool_internals(self)
        # repr(itertools.count(n)) is 'count(n)': reading it does not advance it.
        checkouts = int(repr(self._checkouts)[6:-1])
        with self._stats_lock:
            return {
                "max_connections": self.max_connections,
                "in_use": in_use,
                "idle": idle,
                "peak_in_use": self._peak,
                "connections_created": self._created,
                "checkouts": checkouts,
                "waits": self._waits,
                "wait_ms_total": round(self._wait_total * 1000, 3),
                "wait_ms_max": round(self._wait_max * 1000, 3),
                "exhausted": self._exhausted,
                "connection_errors": self._connection_errors,
            }

    def __repr__(self) -> str:
        limits = f"max_connections={self.max_connections}"
        if self.blocking:
            limits += f", pool_timeout={self.pool_timeout}"
        return f"<{type(self).__name__} alias={self.alias!r} url={self.safe_url!r} {limits}>"


# The two get_connection() overrides below are the hot path: each is written out in
# full, without helper calls, because every call costs ~100 ns on the checkout of
# every command. They read redis-py's pool state in O(1) without a lock.


class CountingConnectionPool(CountingPoolMixin, redis.ConnectionPool):
    """A non-blocking pool: raises :class:`PoolExhaustedError` at once when full."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        next(self._checkouts)
        try:
            connection = super().get_connection(*args, **kwargs)
        except BaseException as exc:
            self._raise_checkout_error(exc)
        in_use = len(self._in_use_connections)
        if in_use > self._peak:
            self._peak = in_use
        return connection


class CountingBlockingConnectionPool(CountingPoolMixin, redis.BlockingConnectionPool):
    """A blocking pool: waits up to ``POOL_TIMEOUT`` for a free connection."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        next(self._checkouts)
        # The queue holds idle connections and None placeholders for connections not
        # yet made: empty means every slot is checked out and this caller will wait.
        started = 0.0 if self.pool.queue else time.perf_counter()
        try:
            connection = super().get_connection(*args, **kwargs)
        except BaseException as exc:
            if started:
                self._record_wait(started)
            self._raise_checkout_error(exc)
        if started:
            self._record_wait(started)
        in_use = self.max_connections - len(self.pool.queue)
        if in_use > self._peak:
            self._peak = in_use
        return connection


def _read_pool_internals(pool: Any) -> tuple[int, int]:
    """(in use, idle) connections from redis-py's pool state (5.x to 8.x), for stats()."""
    if pool.pid != os.getpid():
        return 0, 0  # forked child that has not used the pool yet: none of these are ours
    if isinstance(pool, redis.BlockingConnectionPool):
        idle = sum(1 for connection in list(pool.pool.queue) if connection is not None)
        return len(pool._connections) - idle, idle
    return len(pool._in_use_connections), len(pool._available_connections)


def _reset_counters_after_fork() -> None:
    for pool in list(_live_pools):
        pool._reset_counters()


os.register_at_fork(after_in_child=_reset_counters_after_fork)
