"""redis-py pool subclasses that count what happens to them, and the stats they report.

The hot path is every command's checkout. For the blocking pool (the default) the
counting lives in the queue that redis-py's ``BlockingConnectionPool`` takes as its
``queue_class``: checkouts are counted by the queue's own ``_get`` under its own mutex,
and only a caller that finds the pool empty reaches the timed ``wait``. What is left on
the hot path is one forwarding call that turns failures into counts and errors.
Everything else is computed when stats are asked for, in :func:`_read_pool_internals`,
the only place that reads redis-py's private pool attributes.
"""

from __future__ import annotations

import functools
import itertools
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
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

# Counters of a pool that never waits (non-blocking), or of a forked child's pool before its first use.
_NO_COUNTS: dict[str, int | float] = {
    "checkouts": 0,
    "waits": 0,
    "wait_total": 0.0,
    "wait_max": 0.0,
    "exhausted": 0,
}

_live_pools: weakref.WeakSet[CountingPoolMixin] = weakref.WeakSet()


class CountingLifoQueue(queue.LifoQueue):  # type: ignore[type-arg]
    """redis-py's queue of idle connections, counting under its own mutex."""

    def __init__(self, maxsize: int = 0, *, exhausted_error: Callable[[], Exception]) -> None:
        super().__init__(maxsize)
        # Only a caller that finds no free connection waits on not_empty. The timer is
        # an instance attribute: a Condition subclass would slow every checkout down.
        self._untimed_wait = self.not_empty.wait
        self.not_empty.wait = self._timed_wait  # type: ignore[method-assign]
        self.exhausted_error = exhausted_error
        self.checkouts = 0
        self.waits = 0
        self.wait_total = 0.0
        self.wait_max = 0.0
        self.exhausted = 0

    def _get(self) -> Any:
        self.checkouts += 1
        return self.queue.pop()

    def _timed_wait(self, timeout: float | None = None) -> bool:
        started = time.perf_counter()
        try:
            notified = self._untimed_wait(timeout)
        finally:
            # The mutex is held again here, so these updates are exact.
            waited = time.perf_counter() - started
            self.waits += 1
            self.wait_total += waited
            self.wait_max = max(self.wait_max, waited)
        if not notified and not self.queue:
            # queue.Queue would raise Empty next, which redis-py turns into a bare
            # ConnectionError("No connection available."): say which pool and why.
            self.exhausted += 1
            raise self.exhausted_error()
        return bool(notified)


class CountingPoolMixin:
    """Counts failures and new connections; names connections; redacts its repr."""

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
        self._stats_lock = threading.Lock()
        self._created = 0
        self._connection_errors = 0

    blocking: bool  # set by each concrete pool class below

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

    def _exhausted_error(self) -> PoolExhaustedError:
        return PoolExhaustedError(self.alias, self.max_connections, self.pool_timeout)

    def _raise_checkout_error(self, exc: BaseException) -> NoReturn:
        # Runs only when a checkout failed: exhaustion was counted where it happened.
        if isinstance(exc, RedisError | OSError) and not isinstance(exc, PoolExhaustedError):
            with self._stats_lock:
                self._connection_errors += 1
        raise exc

    def make_connection(self) -> Any:
        connection = super().make_connection()  # type: ignore[misc]
        with self._stats_lock:
            self._created += 1
        return connection

    def _queue_counts(self) -> dict[str, int | float]:
        raise NotImplementedError

    def stats(self) -> dict[str, int | float]:
        """This process's counters for this pool (see ``STATS_KEYS``)."""
        in_use, idle, opened = _read_pool_internals(self)
        counts = self._queue_counts()
        with self._stats_lock:
            return {
                "max_connections": self.max_connections,
                "in_use": in_use,
                "idle": idle,
                "peak_in_use": opened,
                "connections_created": self._created,
                "checkouts": counts["checkouts"],
                "waits": counts["waits"],
                "wait_ms_total": round(counts["wait_total"] * 1000, 3),
                "wait_ms_max": round(counts["wait_max"] * 1000, 3),
                "exhausted": counts["exhausted"],
                "connection_errors": self._connection_errors,
            }

    def __repr__(self) -> str:
        limits = f"max_connections={self.max_connections}"
        if self.blocking:
            limits += f", pool_timeout={self.pool_timeout}"
        return f"<{type(self).__name__} alias={self.alias!r} url={self.safe_url!r} {limits}>"


# The get_connection() overrides run for every command: they call redis-py's method
# directly, since super() costs more per call, and do nothing else unless it fails.
_plain_get_connection = redis.ConnectionPool.get_connection
_blocking_get_connection = redis.BlockingConnectionPool.get_connection


class CountingConnectionPool(CountingPoolMixin, redis.ConnectionPool):
    """A non-blocking pool: raises :class:`PoolExhaustedError` at once when full."""

    blocking = False

    def _reset_counters(self) -> None:
        super()._reset_counters()
        self._checkouts = itertools.count()  # next() is atomic in CPython: no lock needed
        self._exhausted = 0

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        next(self._checkouts)
        try:
            return _plain_get_connection(self, *args, **kwargs)
        except BaseException as exc:
            self._raise_checkout_error(exc)

    def make_connection(self) -> Any:
        try:
            return super().make_connection()
        except RedisConnectionError as exc:  # raised here only when the pool is full
            with self._stats_lock:
                self._exhausted += 1
            raise self._exhausted_error() from exc

    def _queue_counts(self) -> dict[str, int | float]:
        # repr(itertools.count(n)) is 'count(n)': reading it does not advance it.
        checkouts = int(repr(self._checkouts)[6:-1])
        return {**_NO_COUNTS, "checkouts": checkouts, "exhausted": self._exhausted}


class CountingBlockingConnectionPool(CountingPoolMixin, redis.BlockingConnectionPool):
    """A blocking pool: waits up to ``POOL_TIMEOUT`` for a free connection."""

    blocking = True

    pool: CountingLifoQueue

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        queue_class = functools.partial(CountingLifoQueue, exhausted_error=self._exhausted_error)
        super().__init__(*args, queue_class=queue_class, **kwargs)

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return _blocking_get_connection(self, *args, **kwargs)  # type: ignore[no-untyped-call]
        except BaseException as exc:
            self._raise_checkout_error(exc)

    def _queue_counts(self) -> dict[str, int | float]:
        q = self.pool
        if self.pid != os.getpid():  # forked child before its first use: the parent's queue
            return dict(_NO_COUNTS)
        with q.mutex:
            return {
                "checkouts": q.checkouts,
                "waits": q.waits,
                "wait_total": q.wait_total,
                "wait_max": q.wait_max,
                "exhausted": q.exhausted,
            }


def _read_pool_internals(pool: Any) -> tuple[int, int, int]:
    """(in use, idle, open) connections from redis-py's pool state (5.x to 8.x).

    Both pools make a connection only when none is idle, so the connections open in a
    pool are the most it ever had checked out at once: its peak, at no hot-path cost.
    """
    if pool.pid != os.getpid():
        return 0, 0, 0  # forked child that has not used the pool yet: none of these are ours
    if isinstance(pool, redis.BlockingConnectionPool):
        idle = sum(1 for connection in list(pool.pool.queue) if connection is not None)
        opened = len(pool._connections)
        return opened - idle, idle, opened
    return len(pool._in_use_connections), len(pool._available_connections), pool._created_connections


def _reset_counters_after_fork() -> None:
    # The blocking pool's queue is replaced by redis-py itself on the child's first use.
    for pool in list(_live_pools):
        pool._reset_counters()


os.register_at_fork(after_in_child=_reset_counters_after_fork)
