"""The asyncio pool: the sync pool's promises for ``redis.asyncio``, on one event loop.

A pool here belongs to one event loop (:mod:`django_redis_pool._registry.loops` keeps one per alias
and loop), so nothing in it needs a lock: between two ``await``s the loop runs one task at a time.
A task that finds every connection busy waits on a future in a FIFO queue; ``release()`` sets the
longest waiter's future to the connection, so a task that never waited cannot take it first
(redis-py's asyncio ``BlockingConnectionPool`` lets it: 256 tasks on 8 connections, 248 completed at
most one GET in 4 s). ``POOL_TIMEOUT`` bounds every wait with a timer that fails the future, never
the task, so a connection handed over at the last moment is never lost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import sys
import time
import traceback
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from ..exceptions import PoolExhaustedError
from .counters import PoolCounters, leak_message, overdue_checkout, wait_window
from .naming import format_client_name

logger = logging.getLogger("django_redis_pool")

_monotonic = time.monotonic
_INF = float("inf")
_LEAK_STACK_LIMIT = 40


class AsyncPool(PoolCounters, redis.asyncio.ConnectionPool):
    """A fair, bounded, counted asyncio pool for one alias on one event loop."""

    def __init__(
        self,
        *args: Any,
        alias: str = "default",
        safe_url: str = "",
        client_name_prefix: str | None = None,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        leak_warning: float | None = None,
        blocking: bool = True,
        timeout: float | None = 20,
        max_connections: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.alias = alias
        self.safe_url = safe_url
        self.client_name_prefix = client_name_prefix
        self.max_lifetime = max_lifetime
        self.max_idle = max_idle
        self.leak_warning = leak_warning
        self.blocking = blocking
        self.timeout = timeout if blocking else None
        if max_connections is None:
            max_connections = 50 if blocking else None  # redis-py's defaults, as for the sync pools
        super().__init__(*args, max_connections=max_connections, **kwargs)  # type: ignore[misc]
        if client_name_prefix is not None:
            import os

            self.connection_kwargs["client_name"] = format_client_name(client_name_prefix, alias, os.getpid())
        self._created = 0
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._zero_counters()
        self._in_use: set[Any] = set()  # strong references: redis-py 8 keeps a WeakSet
        # Handed to a waiter whose task has not run yet: in use for stats(), disconnect() and
        # redis-py (_in_use_connections), but not releasable until that task checks it out.
        self._in_transit: set[Any] = set()

    def make_connection(self) -> Any:
        connection = super().make_connection()  # type: ignore[no-untyped-call]
        self._created += 1
        register = getattr(connection, "register_connect_callback", None)
        if register is not None:
            register(self._on_connect)
        return connection

    def _on_connect(self, connection: Any) -> None:
        self._established += 1
        if self.max_lifetime is not None:
            connection._drp_expires_at = _monotonic() + self.max_lifetime * (1.0 - random.random() * 0.1)

    # -- checkout --------------------------------------------------------------------------

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        now = _monotonic()
        to_close: list[Any] = []
        if self.max_idle is not None:
            self._reap_idle(now, to_close)
        if self._available_connections and not self._waiters:
            connection = self._available_connections.pop()
        elif self._created < self.max_connections and not self._waiters:
            connection = self.make_connection()
        else:
            connection = await self._wait()
            now = _monotonic()
        self._check_out(connection, now)
        try:
            if self.max_lifetime is not None and _expired(connection, now):
                to_close.append(connection)
                self._closed_for_age += 1
            for stale in to_close:
                # nowait: no suspension, so no cancellation can leave a reaped socket open.
                await stale.disconnect(nowait=True)
            await self.ensure_connection(connection)
        except BaseException as exc:
            self._checkouts -= 1
            if isinstance(exc, RedisError | OSError):
                self._connection_errors += 1
            await self.release(connection)
            raise
        return connection

    def _check_out(self, connection: Any, now: float) -> None:
        self._in_transit.discard(connection)
        self._in_use.add(connection)
        self._in_use_connections.add(connection)
        self._checkouts += 1
        if len(self._in_use) > self._peak:
            self._peak = len(self._in_use)
        if self.leak_warning is not None:
            stack = traceback.StackSummary.extract(
                traceback.walk_stack(sys._getframe(2)), limit=_LEAK_STACK_LIMIT, lookup_lines=False
            )
            stack.reverse()
            task = asyncio.current_task()
            connection._drp_checkout = (now, stack, task.get_name() if task else "?")
            connection._drp_leak_warned = False
            self._scan_for_leaks(now)

    async def _wait(self) -> Any:
        if not self.blocking:
            self._exhausted += 1
            raise PoolExhaustedError(self.alias, self.max_connections, None, blocking=False)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(future)
        timer = None
        if self.timeout is not None:
            timer = loop.call_later(self.timeout, self._expire, future)
        started = _monotonic()
        try:
            return await future
        except asyncio.CancelledError:
            # The task was cancelled; if a release handed this waiter a connection at the same
            # moment, pass it on instead of losing it.
            if future.done() and not future.cancelled() and future.exception() is None:
                connection = future.result()
                self._in_transit.discard(connection)
                self._in_use_connections.discard(connection)
                self._put_back(connection)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            waited = _monotonic() - started
            self._waits += 1
            self._wait_total += waited
            self._recent_waits.append(waited)
            self._wait_max = max(self._wait_max, waited)
            with contextlib.suppress(ValueError):  # handed over: release() took it off the queue
                self._waiters.remove(future)

    def _expire(self, future: asyncio.Future[Any]) -> None:
        if not future.done():
            self._exhausted += 1
            future.set_exception(PoolExhaustedError(self.alias, self.max_connections, self.timeout))

    # -- release ---------------------------------------------------------------------------

    async def release(self, connection: Any) -> None:
        if connection not in self._in_use:
            return  # not checked out of this pool
        self._in_use.discard(connection)
        self._in_use_connections.discard(connection)
        now = _monotonic()
        if self.leak_warning is not None:
            self._warn_if_held_too_long(connection, now, released=True)
            connection._drp_checkout = None
        # Out of the in-use set but not yet back: whatever interrupts the awaits below (a
        # cancellation, a disconnect() that times out, a failed re-authentication), the finally
        # puts it back, or its slot would stay counted with no connection in it. A connection
        # whose close or re-authentication was cut short is revalidated by its next checkout.
        try:
            should_reconnect = getattr(connection, "should_reconnect", None)
            if (should_reconnect is not None and should_reconnect()) or (
                self.max_lifetime is not None and _expired(connection, now)
            ):
                if self.max_lifetime is not None and _expired(connection, now):
                    self._closed_for_age += 1
                await connection.disconnect()  # before anyone else can have it
            dispatcher = getattr(self, "_event_dispatcher", None)
            if dispatcher is not None and hasattr(dispatcher, "dispatch_async"):
                from redis.event import AsyncAfterConnectionReleasedEvent

                await dispatcher.dispatch_async(AsyncAfterConnectionReleasedEvent(connection))  # type: ignore[no-untyped-call]
        finally:
            self._put_back(connection, now)

    def _put_back(self, connection: Any, now: float | None = None) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(connection)
                self._in_transit.add(connection)
                self._in_use_connections.add(connection)
                return
        connection._drp_released_at = _monotonic() if now is None else now
        self._available_connections.append(connection)

    # -- recycling and leaks ---------------------------------------------------------------

    def _reap_idle(self, now: float, to_close: list[Any]) -> None:
        assert self.max_idle is not None
        cutoff = now - self.max_idle
        available = self._available_connections
        reaped = 0
        while reaped < len(available) and getattr(available[reaped], "_drp_released_at", _INF) <= cutoff:
            reaped += 1
        for connection in available[:reaped]:
            if getattr(connection, "is_connected", False):
                to_close.append(connection)
                self._closed_for_idle += 1
        del available[:reaped]
        self._created -= reaped

    def _warn_if_held_too_long(self, connection: Any, now: float, released: bool) -> None:
        assert self.leak_warning is not None
        overdue = overdue_checkout(connection, now, self.leak_warning)
        if overdue is not None:
            held, stack, task = overdue
            self._leak_warnings += 1
            pool = f"{self.alias!r} (asyncio)"
            logger.warning(
                "%s", leak_message(pool, held, self.leak_warning, stack, f"task {task!r}", released)
            )

    def _scan_for_leaks(self, now: float) -> None:
        assert self.leak_warning is not None
        if now < self._next_leak_scan:
            return
        self._next_leak_scan = now + min(self.leak_warning / 2, 1.0)
        for connection in list(self._in_use):
            self._warn_if_held_too_long(connection, now, released=False)

    # -- observability ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """This pool's counters: the keys of ``stats.STATS_KEYS``."""
        now = _monotonic()
        taken = [c._drp_checkout[0] for c in list(self._in_use) if getattr(c, "_drp_checkout", None)]
        return {
            "max_connections": self.max_connections,
            "in_use": len(self._in_use) + len(self._in_transit),
            "idle": sum(1 for c in self._available_connections if getattr(c, "is_connected", False)),
            "waiting": len(self._waiters),
            "peak_in_use": self._peak,
            "connections_created": self._established,
            "checkouts": self._checkouts,
            "waits": self._waits,
            "wait_ms_total": round(self._wait_total * 1000, 3),
            "wait_ms_max": round(self._wait_max * 1000, 3),
            **wait_window(self._recent_waits),
            "exhausted": self._exhausted,
            "connection_errors": self._connection_errors,
            "closed_for_age": self._closed_for_age,
            "closed_for_idle": self._closed_for_idle,
            "leak_warnings": self._leak_warnings,
            "oldest_checkout_age_s": round(now - min(taken), 3) if taken else None,
        }

    async def disconnect(self, inuse_connections: bool = True) -> None:
        in_use = [*self._in_use, *self._in_transit] if inuse_connections else []
        connections = [*self._available_connections, *in_use]
        results = await asyncio.gather(*(c.disconnect() for c in connections), return_exceptions=True)
        error = next((r for r in results if isinstance(r, BaseException)), None)
        if error is not None:
            raise error

    def __repr__(self) -> str:
        limits = f"max_connections={self.max_connections}"
        if self.blocking:
            limits += f", pool_timeout={self.timeout}"
        return f"<{type(self).__name__} alias={self.alias!r} url={self.safe_url!r} {limits}>"


def _expired(connection: Any, now: float) -> bool:
    return getattr(connection, "_drp_expires_at", _INF) <= now and getattr(connection, "is_connected", False)
