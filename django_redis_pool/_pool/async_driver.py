"""The asyncio driver: the thread driver's promises for ``redis.asyncio``, around :mod:`.policy`.

A pool here belongs to one event loop (:mod:`django_redis_pool._registry.loops` keeps one per alias
and loop), so nothing in it needs a lock: between two ``await``s the loop runs one task at a time,
and every policy call sits between two awaits. A task that finds every connection busy waits on a
future in the policy's FIFO queue; a release resolves the longest waiter's future, so a task that
never waited cannot take the connection first (redis-py's asyncio ``BlockingConnectionPool`` lets
it: 256 tasks on 8 connections, 248 completed at most one GET in 4 s). ``POOL_TIMEOUT`` bounds
every wait with a timer that fails the future, never the task, so a connection handed over at the
last moment is never lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import redis.asyncio

from ..exceptions import PoolExhaustedError
from . import compat, deadline, errors, events, retire
from .breaker import describe, refused
from .counters import Snapshot, leak_message, summarize
from .naming import format_client_name, pool_repr
from .policy import CREATE, EXHAUSTED, IGNORED, REFUSED, WAIT, PoolPolicy
from .state import Leak, Origin, caller_origin

logger = logging.getLogger("django_redis_pool")

_monotonic = time.monotonic
Waiter = asyncio.Future[None]


class AsyncPool(compat.RedisPyState, retire.AsyncRetiring, redis.asyncio.ConnectionPool):
    """A fair, bounded, counted asyncio pool for one alias on one event loop."""

    _policy: PoolPolicy[Any, Waiter]

    def __init__(
        self,
        connection_class: Any = redis.asyncio.Connection,
        max_connections: int | None = None,
        *,
        alias: str = "default",
        safe_url: str = "",
        client_name_prefix: str | None = None,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        leak_warning: float | None = None,
        breaker: tuple[int, float, float] | None = None,
        blocking: bool = True,
        timeout: float | None = 20,
        **kwargs: Any,
    ) -> None:
        self.alias = alias
        self.safe_url = safe_url
        self.client_name_prefix = client_name_prefix
        self.blocking = blocking
        self.timeout = timeout if blocking else None
        if max_connections is None:
            max_connections = 50 if blocking else None  # redis-py's defaults, as for the sync pools
        super().__init__(connection_class, max_connections, **kwargs)
        if client_name_prefix is not None:
            kwargs = compat.connection_kwargs(self)
            kwargs["client_name"] = format_client_name(client_name_prefix, alias, os.getpid())
        self._policy = PoolPolicy(
            self.max_connections,
            blocking=blocking,
            max_lifetime=max_lifetime,
            max_idle=max_idle,
            leak_warning=leak_warning,
            is_open=compat.is_open_async,
            breaker=breaker or (0, 1.0, 1.0),  # None: never opens (a pool built by hand, as redis-py's)
        )
        # Released but not yet back: the awaits of release() (re-authentication, closing), during
        # which a second release of the same connection is ignored.
        self._releasing: set[Any] = set()

    @property
    def max_lifetime(self) -> float | None:
        return self._policy.max_lifetime

    @property
    def max_idle(self) -> float | None:
        return self._policy.max_idle

    @property
    def leak_warning(self) -> float | None:
        return self._policy.leak_warning

    def make_connection(self) -> Any:
        parent: Any = super()  # redis-py 5's asyncio pool is untyped
        connection = parent.make_connection()
        errors.watch_connects(self, connection, self._on_connect, None)
        return connection

    def _on_connect(self, connection: Any) -> None:
        self._policy.connected(connection, _monotonic())
        if events.connected_listeners:
            events.connected(self.alias)

    # -- checkout --------------------------------------------------------------------------

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        policy = self._policy
        connection = policy.take_idle()
        if connection is None:
            connection = await self._checkout()
        held = deadline.hold(connection)  # COMMAND_TIMEOUT runs from here, the connect included
        try:
            if policy.chores:
                # nowait: no suspension, so no cancellation can leave a stale socket open.
                await self._finish(nowait=True)
            await self.ensure_connection(connection)
        except BaseException as exc:
            policy.checkout_failed(errors.uncounted(exc), _monotonic(), describe(exc))
            await self.release(connection)
            raise
        deadline.hand_over(held)
        return connection

    async def _checkout(self) -> Any:
        policy = self._policy
        origin = None
        if policy.leak_warning is not None:
            task = asyncio.current_task()
            origin = caller_origin(2, f"task {task.get_name() if task else '?'!r}")
        got = policy.checkout(_monotonic(), origin)
        if got is CREATE:
            return self._create(origin)
        if got is WAIT:
            return await self._wait(origin)
        if got is EXHAUSTED:
            raise PoolExhaustedError(self.alias, self.max_connections, None, blocking=False)
        if got is REFUSED:
            raise refused(self.alias, policy.breaker, _monotonic())
        return got

    def _create(self, origin: Origin | None) -> Any:
        try:
            connection = self.make_connection()
        except BaseException:
            self._wake(self._policy.creation_failed())
            raise
        self._policy.created(connection, _monotonic(), origin)
        return connection

    async def _wait(self, origin: Origin | None) -> Any:
        policy = self._policy
        loop = asyncio.get_running_loop()
        future: Waiter = loop.create_future()
        policy.enqueue(future)
        started = _monotonic()
        timer = None if self.timeout is None else loop.call_later(self.timeout, self._expire, future, started)
        try:
            await future
        except asyncio.CancelledError:
            # If a release handed this waiter a connection at the same moment, it is passed on.
            now = _monotonic()
            self._wake(policy.abandon(future, now, now - started))
            raise
        finally:
            if timer is not None:
                timer.cancel()
        now = _monotonic()
        got = policy.claim(future, now, now - started, origin)
        if got is CREATE:
            return self._create(origin)
        return got

    def _expire(self, future: Waiter, started: float) -> None:
        if not future.done() and self._policy.expire(future, _monotonic() - started):
            future.set_exception(PoolExhaustedError(self.alias, self.max_connections, self.timeout))

    @staticmethod
    def _wake(waiter: Waiter | None) -> None:
        # A cancelled waiter's own task passes on what it was handed (abandon()).
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- release ---------------------------------------------------------------------------

    async def release(self, connection: Any) -> None:
        policy = self._policy
        if connection in self._releasing or not policy.releasable(connection):
            return  # not checked out of this pool, or being released already
        self._releasing.add(connection)
        # Whatever interrupts the awaits below (a cancellation, a disconnect() that times out, a
        # failed re-authentication), the finally gives the connection back, or its slot would stay
        # counted with no connection in it. A connection whose close or re-authentication was cut
        # short is revalidated by its next checkout.
        try:
            if compat.should_reconnect(connection):
                await connection.disconnect()  # before anyone else can have it
            await compat.dispatch_released_async(self, connection)
        finally:
            self._releasing.discard(connection)
            woken = policy.release(connection, _monotonic() if policy.timed else 0.0, not self.retired)
            if woken is not IGNORED and isinstance(woken, asyncio.Future):
                self._wake(woken)
        if policy.chores:
            await self._finish()

    async def _finish(self, nowait: bool = False) -> None:
        """Log leak warnings and close retired sockets (the policy's chores): every one of them,
        whatever interrupts a close (the rest close without waiting), then the first error."""
        chores = self._policy.take_chores()
        error: BaseException | None = None
        for chore in chores:
            if isinstance(chore, Leak):
                logger.warning("%s", leak_message(f"{self.alias!r} (asyncio)", chore))
                continue
            try:
                await chore.disconnect(nowait=nowait)
            except BaseException as exc:
                error, nowait = error or exc, True
        if error is not None:
            raise error

    def checked_out(self, connection: Any) -> bool:
        return connection in self._policy.in_use

    # -- observability ---------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return self._policy.snapshot(_monotonic())

    def stats(self) -> dict[str, Any]:
        """This pool's stats: the keys of ``counters.STATS_KEYS``."""
        return summarize([self.snapshot()])

    async def disconnect(self, inuse_connections: bool = True) -> None:
        policy = self._policy
        connections = [*policy.idle, *(policy.in_use if inuse_connections else ())]
        results = await asyncio.gather(*(c.disconnect() for c in connections), return_exceptions=True)
        error = next((r for r in results if isinstance(r, BaseException)), None)
        if error is not None:
            raise error

    def __repr__(self) -> str:
        return pool_repr(self, self.max_connections, self.blocking, self.timeout)
