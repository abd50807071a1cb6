"""The thread driver: a fair blocking pool and a non-blocking one, around :mod:`.policy`.

Both subclass ``redis.ConnectionPool`` (redis-py's own methods see the policy's state through
:class:`.compat.RedisPyState`). This module only locks, waits, wakes and does I/O; every decision
is the policy's, under the pool lock. A caller that finds every connection busy blocks on its own
:class:`_Waiter` lock until a release hands it a connection (or a slot), first come, first served.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..exceptions import PoolExhaustedError
from . import compat, deadline, errors, events, probe, retire
from .breaker import describe, refused
from .counters import Snapshot, leak_message, summarize
from .naming import format_client_name, pool_repr
from .policy import CREATE, EXHAUSTED, IGNORED, REFUSED, WAIT, PoolPolicy
from .state import Leak, Origin, caller_origin
from .state import ThreadWaiter as _Waiter

logger = logging.getLogger("django_redis_pool")

_getpid = os.getpid
_monotonic = time.monotonic


def finish(pool: str, chores: list[Any]) -> None:
    """Slow work kept out of the pool lock: close retired sockets, log leak warnings."""
    for chore in chores:
        if isinstance(chore, Leak):
            logger.warning("%s", leak_message(pool, chore))
        else:
            chore.disconnect()


class Pool(compat.RedisPyState, retire.Retiring, redis.ConnectionPool):
    """The shared implementation; use :class:`BlockingPool` or :class:`NonBlockingPool`."""

    blocking: bool
    timeout: float | None = None
    _policy: PoolPolicy[Any, _Waiter]

    def __init__(
        self,
        *args: Any,
        alias: str = "default",
        safe_url: str = "",
        client_name_prefix: str | None = None,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        leak_warning: float | None = None,
        breaker: tuple[int, float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        self.breaker = breaker or (0, 1.0, 1.0)  # None: never opens (a pool built by hand, as redis-py's)
        self.alias = alias
        self.safe_url = safe_url
        self.client_name_prefix = client_name_prefix
        self.max_lifetime = max_lifetime
        self.max_idle = max_idle
        self.leak_warning = leak_warning
        super().__init__(*args, **kwargs)
        self._release_dispatcher = compat.release_dispatcher(self)

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        # From __init__ and in a forked child before its first use: a fresh lock (the parent's may have
        # been held when it forked), a fresh policy (zeroed), names carrying the child's pid.
        if self.client_name_prefix is not None:
            self.connection_kwargs["client_name"] = format_client_name(
                self.client_name_prefix, self.alias, _getpid()
            )
        self._lock = threading.RLock()
        self._policy = PoolPolicy(
            self.max_connections,
            blocking=self.blocking,
            max_lifetime=self.max_lifetime,
            max_idle=self.max_idle,
            leak_warning=self.leak_warning,
            is_open=compat.is_open,
            breaker=self.breaker,
        )
        if compat.BASE_RESET_REPLACES_LOCK:
            self.pid = _getpid()  # the rest of redis-py 5.0's reset() is the policy's, but its Lock
        else:
            super().reset()  # sets self.pid last, as redis-py requires

    def make_connection(self) -> Any:
        connection = super().make_connection()
        # Called on every (re)connect, including reconnects in the middle of a command.
        errors.watch_connects(self, connection, self._on_connect, self._lock)
        return connection

    def _on_connect(self, connection: Any) -> None:
        with self._lock:
            self._policy.connected(connection, _monotonic())
        if events.connected_listeners:
            events.connected(self.alias)

    # -- checkout --------------------------------------------------------------------------

    def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if self.pid != _getpid():
            compat.checkpid(self)
        with self._lock:
            connection = self._policy.take_idle()
        if connection is None:
            connection = self._checkout()
        held = deadline.hold(connection)  # COMMAND_TIMEOUT runs from here, the connect included
        try:
            connection.connect()
            # A pooled connection must have nothing left to read: if it has, the previous
            # user did not finish reading a reply. The same guard as redis-py's own pools.
            try:
                if connection.can_read() and compat.expects_quiet(self):
                    raise RedisConnectionError("Connection has data")
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                connection.connect()
                if connection.can_read() and compat.expects_quiet(self):
                    raise errors.named(self, RedisConnectionError("Connection not ready")) from None
        except BaseException as exc:
            with self._lock:  # a checkout counts once the caller has a working connection
                self._policy.checkout_failed(errors.uncounted(exc), _monotonic(), describe(exc))
            self.release(connection)
            raise
        deadline.hand_over(held)
        return connection

    def _checkout(self, wait_limit: float | None = None) -> Any:
        """Checkout off the fast path: recycling, a new connection, or a fair wait (of at most
        ``wait_limit`` seconds when given, if shorter than POOL_TIMEOUT)."""
        policy = self._policy
        origin = None
        if policy.leak_warning is not None:
            origin = caller_origin(2, f"thread {threading.current_thread().name!r}")
        lock = self._lock
        lock.acquire()
        try:
            got = policy.checkout(_monotonic(), origin)
            if got is CREATE:
                return self._create(origin)
            if got is WAIT:
                return self._wait(wait_limit, origin)
            if got is EXHAUSTED:
                raise PoolExhaustedError(self.alias, self.max_connections, None, blocking=False)
            if got is REFUSED:
                raise refused(self.alias, policy.breaker, _monotonic())
            return got
        finally:
            chores = policy.take_chores() if policy.chores else None
            lock.release()
            if chores:
                finish(repr(self.alias), chores)

    def _create(self, origin: Origin | None) -> Any:
        """Make the connection of a reserved slot (pool lock held)."""
        try:
            connection = self.make_connection()
        except BaseException:
            self._wake(self._policy.creation_failed())
            raise
        self._policy.created(connection, _monotonic(), origin)
        return connection

    def _wait(self, wait_limit: float | None, origin: Origin | None) -> Any:
        """Queue behind earlier waiters until a release wakes this one (pool lock held)."""
        timeout = self.timeout
        if wait_limit is not None and (timeout is None or wait_limit < timeout):
            timeout = wait_limit
        policy, lock = self._policy, self._lock
        waiter = _Waiter()
        policy.enqueue(waiter)
        started = _monotonic()
        lock.release()
        try:
            waiter.lock.acquire(timeout=-1 if timeout is None else timeout)
        except BaseException:  # interrupted: what was handed over at the last moment is passed on
            lock.acquire()
            now = _monotonic()
            self._wake(policy.abandon(waiter, now, now - started))
            raise
        lock.acquire()
        now = _monotonic()
        got = policy.claim(waiter, now, now - started, origin)
        if got is None:
            raise PoolExhaustedError(self.alias, self.max_connections, timeout)
        if got is CREATE:
            return self._create(origin)
        return got

    @staticmethod
    def _wake(waiter: _Waiter | None) -> None:
        if waiter is not None:
            waiter.lock.release()

    # -- release ---------------------------------------------------------------------------

    def release(self, connection: Any, _dispatch: bool = True) -> None:
        if self.pid != _getpid():
            compat.checkpid(self)
        policy = self._policy
        dispatcher = self._release_dispatcher
        if (
            dispatcher is not None
            and _dispatch
            and connection.pid == self.pid
            and connection in policy.in_use
        ):
            # redis-py re-authenticates a released connection through this event (AUTH and its
            # reply): while the caller still owns it, before a waiter or the idle stack has it.
            try:
                compat.dispatch_released(dispatcher, connection)
            except BaseException:
                self.release(connection, _dispatch=False)
                raise
        lock = self._lock
        lock.acquire()
        try:
            now = _monotonic() if policy.timed else 0.0
            woken = policy.release(connection, now, self.owns_connection(connection))
            if woken is IGNORED:
                return  # not checked out of this pool: redis-py ignores it too
            if compat.HAS_SHOULD_RECONNECT and connection.should_reconnect():
                connection.disconnect()  # before its next owner has it
            if isinstance(woken, _Waiter):
                woken.lock.release()
        finally:
            chores = policy.take_chores() if policy.chores else None
            lock.release()
            if chores:
                finish(repr(self.alias), chores)

    def close_breaker(self) -> None:
        """Stop refusing checkouts: the server is known to be back (a Sentinel failover ended)."""
        with self._lock:
            self._policy.close_breaker()

    def disconnect_idle(self, predicate: Any) -> None:
        """Close the idle connections matching ``predicate`` (they stay pooled), under the lock."""
        with self._lock:
            for connection in [c for c in self._policy.idle if predicate(c)]:
                connection.disconnect()

    def ping_within(self, timeout: float) -> float:
        """PING on one of this pool's connections within ``timeout``: the round trip in seconds."""
        return self.execute_within(timeout, "PING", expect=(b"PONG", "PONG", True))[1]

    def execute_within(self, timeout: float, *args: Any, expect: tuple[Any, ...] = ()) -> tuple[Any, float]:
        """One command on one of this pool's connections within ``timeout``: :func:`.probe.execute_within`."""
        return probe.execute_within(self, timeout, args, expect)

    def snapshot(self) -> Snapshot:
        """This process's counters for this pool, at one moment."""
        now = _monotonic()
        if self.pid != _getpid():
            # A forked child before its first use: nothing here belongs to this process yet.
            return self._policy.renewed().snapshot(now)
        with self._lock:
            return self._policy.snapshot(now)

    def stats(self) -> dict[str, Any]:  # the keys of counters.STATS_KEYS
        return summarize([self.snapshot()])

    def __repr__(self) -> str:
        return pool_repr(self, self.max_connections, self.blocking, self.timeout)


class BlockingPool(Pool):
    """The default: a caller waits up to ``timeout`` (POOL_TIMEOUT) for a free connection,
    served first come, first served; then :class:`PoolExhaustedError`."""

    blocking = True

    def __init__(
        self, *args: Any, max_connections: int = 50, timeout: float | None = 20, **kwargs: Any
    ) -> None:
        self.timeout = timeout
        super().__init__(*args, max_connections=max_connections, **kwargs)


class NonBlockingPool(Pool):
    """A full pool raises :class:`PoolExhaustedError` at once (``'BLOCKING': False``)."""

    blocking = False
