"""The pool classes: a fair blocking pool and a non-blocking one, on redis-py's pool state.

Both subclass ``redis.ConnectionPool`` and keep its state (``_available_connections``, a LIFO
list of idle connections; ``_in_use_connections``; ``_created_connections``), so every other
redis-py method (``disconnect``, ``set_retry``, re-authentication, maintenance notifications)
works on them unchanged. What they replace is checkout and release:

* **Fair hand-off.** A caller that finds every connection busy queues as a :class:`_Waiter`
  (a lock it blocks on). ``release()`` gives the connection straight to the longest waiter,
  under the pool lock, so no thread that never waited can take it first; ``POOL_TIMEOUT``
  bounds every wait, and a timed-out waiter always leaves with :class:`PoolExhaustedError`.
* **Recycling.** ``MAX_LIFETIME`` closes a connection older than its (jittered) lifetime at
  checkout or release; ``MAX_IDLE`` closes connections that sat unused at the bottom of the
  LIFO stack, checked as connections are taken and returned (no background thread: an idle
  process catches up on its next checkout).
* **Leak warnings.** With ``LEAK_WARNING``, each checkout records the caller's stack; a
  connection held longer is logged once, with that stack.
* **Counting.** Every counter changes under the pool lock, or under a small lock on the
  rare connect path, so stats are exact; see :mod:`django_redis_pool._pool.counters`.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import sys
import threading
import time
import traceback
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..exceptions import PoolExhaustedError
from .counters import PoolCounters, leak_message, overdue_checkout, wait_window
from .naming import format_client_name

logger = logging.getLogger("django_redis_pool")

_getpid = os.getpid
_monotonic = time.monotonic
_INF = float("inf")
# redis-py 8 closes connections that a maintenance notification marked, on release.
_HAS_SHOULD_RECONNECT = hasattr(redis.Connection, "should_reconnect")
_LEAK_STACK_LIMIT = 40
try:  # redis-py >= 5.1 re-authenticates released connections through this event
    from redis.event import AfterConnectionReleasedEvent
except ImportError:  # pragma: no cover - redis-py 5.0
    AfterConnectionReleasedEvent = None  # type: ignore[assignment,misc]


def _base_reset_replaces_the_lock() -> bool:
    """Whether redis-py's own ``reset()`` installs a new ``_lock`` (redis-py 5.0: a plain Lock)."""
    probe = redis.ConnectionPool.__new__(redis.ConnectionPool)
    redis.ConnectionPool.reset(probe)
    return "_lock" in vars(probe)


# A plain Lock deadlocks when the GC runs a finalizer under it that releases into the pool
# (PubSub.__del__, Pipeline.__del__: redis-py issues 2883, 3081, 3289); the pool keeps its RLock.
_BASE_RESET_REPLACES_LOCK = _base_reset_replaces_the_lock()


class _Waiter:
    """One caller waiting for a connection: blocks on ``lock`` until a release hands one over."""

    __slots__ = ("connection", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.connection: Any = None


def _is_open(connection: Any) -> bool:
    """Whether a connection holds a socket (redis-py's ``_sock``, stable from 5.x to 8.x)."""
    return getattr(connection, "_sock", None) is not None


class Pool(PoolCounters, redis.ConnectionPool):
    """The shared implementation; use :class:`BlockingPool` or :class:`NonBlockingPool`."""

    blocking: bool
    timeout: float | None = None

    def __init__(
        self,
        *args: Any,
        alias: str = "default",
        safe_url: str = "",
        client_name_prefix: str | None = None,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        leak_warning: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.alias = alias
        self.safe_url = safe_url
        self.client_name_prefix = client_name_prefix
        self.max_lifetime = max_lifetime
        self.max_idle = max_idle
        self.leak_warning = leak_warning
        # One flag keeps the uncontended checkout to a single test when all three are off.
        self._extras = max_lifetime is not None or max_idle is not None or leak_warning is not None
        super().__init__(*args, **kwargs)
        dispatcher = getattr(self, "_event_dispatcher", None)
        self._release_dispatcher = dispatcher if AfterConnectionReleasedEvent is not None else None

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        # redis-py calls reset() from __init__ and, in a forked child, before the child's first
        # use. A fresh lock (the parent's may have been held by a thread when it forked), no
        # waiters, zeroed counters, and connection names that carry the child's pid.
        if self.client_name_prefix is not None:
            self.connection_kwargs["client_name"] = format_client_name(
                self.client_name_prefix, self.alias, _getpid()
            )
        self._lock = threading.RLock()
        self._stats_lock = threading.Lock()
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._zero_counters()
        if _BASE_RESET_REPLACES_LOCK:
            # redis-py 5.0's reset() is these lines and `self._lock = threading.Lock()`.
            self._created_connections = 0
            self._available_connections = []
            self._in_use_connections = set()
            self.pid = _getpid()  # last, as redis-py requires
        else:
            super().reset()  # sets self.pid last, as redis-py requires

    def make_connection(self) -> Any:
        connection = super().make_connection()
        # Called on every (re)connect, including reconnects in the middle of a command. A custom
        # connection class without redis-py's callbacks is pooled all the same, but not counted.
        register = getattr(connection, "register_connect_callback", None)
        if register is not None:
            register(self._on_connect)
        return connection

    def _on_connect(self, connection: Any) -> None:
        with self._stats_lock:
            self._established += 1
        if self.max_lifetime is not None:
            jitter = 1.0 - random.random() * 0.1
            connection._drp_expires_at = _monotonic() + self.max_lifetime * jitter

    # -- checkout --------------------------------------------------------------------------

    def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if self.pid != _getpid():
            self._checkpid()
        with self._lock:
            if self._available_connections and not self._extras:
                connection = self._available_connections.pop()
                in_use = self._in_use_connections
                in_use.add(connection)
                self._checkouts += 1
                if len(in_use) > self._peak:
                    self._peak = len(in_use)
            else:
                connection = None
        if connection is None:
            connection = self._checkout_slow()
        try:
            connection.connect()
            # A pooled connection must have nothing left to read: if it has, the previous
            # user did not finish reading a reply. The same guard as redis-py's own pools.
            try:
                if connection.can_read() and self._expects_quiet():
                    raise RedisConnectionError("Connection has data")
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                connection.connect()
                if connection.can_read() and self._expects_quiet():
                    raise RedisConnectionError("Connection not ready") from None
        except BaseException as exc:
            with self._lock:
                self._checkouts -= 1  # a checkout counts once the caller has a working connection
                if isinstance(exc, RedisError | OSError):
                    self._connection_errors += 1
            self.release(connection)
            raise
        return connection

    def _expects_quiet(self) -> bool:
        # redis-py 8 lets client-side caching and maintenance notifications push data unasked.
        if getattr(self, "cache", None) is not None:
            return False
        enabled = getattr(self, "maint_notifications_enabled", None)
        return not (enabled is not None and enabled())

    def _checkout_slow(self, wait_limit: float | None = None) -> Any:
        """Checkout when the fast path does not apply: recycling, a new connection, or a fair wait
        (of at most ``wait_limit`` seconds when given, if that is shorter than POOL_TIMEOUT)."""
        to_close: list[Any] = []
        warnings: list[str] = []
        try:
            with self._lock:
                now = _monotonic() if self._extras else 0.0
                if self.max_idle is not None:
                    self._reap_idle(now, to_close)
                if self._available_connections and not self._waiters:
                    connection = self._available_connections.pop()
                elif self._created_connections < self.max_connections and not self._waiters:
                    connection = self.make_connection()
                else:
                    connection = self._wait(wait_limit)
                    if self._extras:
                        now = _monotonic()
                if self._expired(connection, now):
                    to_close.append(connection)
                    self._closed_for_age += 1
                in_use = self._in_use_connections
                in_use.add(connection)
                self._checkouts += 1
                if len(in_use) > self._peak:
                    self._peak = len(in_use)
                if self.leak_warning is not None:
                    self._stamp_checkout(connection, now)
                    self._scan_for_leaks(now, warnings)
                return connection
        finally:
            if to_close or warnings:
                _after_lock(to_close, warnings)

    def _wait(self, wait_limit: float | None = None) -> Any:
        """Queue behind earlier waiters until a release hands a connection over (lock held)."""
        if not self.blocking:
            self._exhausted += 1
            raise PoolExhaustedError(self.alias, self.max_connections, None, blocking=False)
        timeout = self.timeout
        if wait_limit is not None and (timeout is None or wait_limit < timeout):
            timeout = wait_limit
        waiter = _Waiter()
        self._waiters.append(waiter)
        started = _monotonic()
        lock = self._lock
        lock.release()
        try:
            waiter.lock.acquire(timeout=-1 if timeout is None else timeout)
        except BaseException:
            lock.acquire()
            self._record_wait(_monotonic() - started)
            if waiter.connection is None:
                self._waiters.remove(waiter)
            else:  # interrupted just after a release handed one over: pass it on
                self._in_use_connections.discard(waiter.connection)
                self._put_back(waiter.connection)
            raise
        lock.acquire()
        self._record_wait(_monotonic() - started)
        if waiter.connection is None:
            # Timed out. A release that handed one over did so under the lock, before this
            # point, so a waiter never leaves empty-handed while a connection waits for it.
            self._waiters.remove(waiter)
            self._exhausted += 1
            raise PoolExhaustedError(self.alias, self.max_connections, timeout)
        return waiter.connection  # release() already counted it as in use

    # -- a bounded PING (health probes) ------------------------------------------------------

    def ping_within(self, timeout: float) -> float:
        """PING the server on one of this pool's own connections, in about ``timeout`` seconds at most;
        return the round trip in seconds (connect included when the connection had to open)."""
        return self.execute_within(timeout, "PING", expect=(b"PONG", "PONG", True))[1]

    def execute_within(self, timeout: float, *args: Any, expect: tuple[Any, ...] = ()) -> tuple[Any, float]:
        """Send one command on one of this pool's own connections; (its raw reply, seconds taken).
        A reply not in ``expect`` (when given) means the connection was out of step: it is closed.

        The wait for a free connection, the connect (no retries) and every read are bounded by what
        is left of ``timeout``, on the checked-out connection only: the pool's and its other
        connections' timeouts are untouched, and the connection's own are restored before release.
        A connection that failed or timed out is closed (its reply may still come), never reused.
        """
        if self.pid != _getpid():
            self._checkpid()
        deadline = _monotonic() + timeout
        connection = self._checkout_slow(wait_limit=timeout)
        saved = (connection.socket_timeout, connection.socket_connect_timeout, connection.retry)
        try:
            left = max(deadline - _monotonic(), 0.001)
            connection.socket_connect_timeout = left
            connection.retry = Retry(NoBackoff(), 0)
            _set_read_timeout(connection, left)
            started = _monotonic()
            connection.connect()  # nothing to do when it is open
            connection.send_command(*args)
            reply = connection.read_response()
            if expect and reply not in expect:
                raise RedisConnectionError(f"{args[0]} answered {reply!r}")
            return reply, _monotonic() - started
        except BaseException as exc:
            if not isinstance(exc, RedisResponseError):  # the reply was read whole: still in step
                connection.disconnect()
            if isinstance(exc, RedisError | OSError) and not isinstance(exc, RedisResponseError):
                with self._lock:
                    self._connection_errors += 1
            raise
        finally:
            connection.socket_connect_timeout, connection.retry = saved[1], saved[2]
            _set_read_timeout(connection, saved[0])
            self.release(connection)

    def _record_wait(self, waited: float) -> None:
        self._waits += 1
        self._wait_total += waited
        self._recent_waits.append(waited)
        if waited > self._wait_max:
            self._wait_max = waited

    # -- release ---------------------------------------------------------------------------

    def release(self, connection: Any, _dispatch: bool = True) -> None:
        if self.pid != _getpid():
            self._checkpid()
        dispatcher = self._release_dispatcher
        if (
            dispatcher is not None
            and _dispatch
            and connection.pid == self.pid
            and connection in self._in_use_connections
        ):
            # redis-py re-authenticates a released connection through this event (AUTH, then its
            # reply, on the connection): do it while the caller still owns the connection, before
            # a waiter or the idle stack can have it. redis-py's own pool does it under its lock.
            try:
                dispatcher.dispatch(AfterConnectionReleasedEvent(connection))  # type: ignore[no-untyped-call]
            except BaseException:
                self.release(connection, _dispatch=False)
                raise
        pending = None
        with self._lock:
            try:
                self._in_use_connections.remove(connection)
            except KeyError:
                return  # not checked out of this pool: redis-py ignores it too
            if not self.owns_connection(connection):
                # A connection from before a fork: never reuse its socket; its slot is free.
                connection.disconnect()
                if connection.pid == self.pid:
                    self._created_connections -= 1
                if self._waiters and self._created_connections < self.max_connections:
                    self._hand_over(self.make_connection())
                return
            if _HAS_SHOULD_RECONNECT and connection.should_reconnect():
                connection.disconnect()
            if self._extras:
                pending = self._release_extras(connection)
            elif self._waiters:
                self._hand_over(connection)
            else:
                self._available_connections.append(connection)
        if pending is not None:
            _after_lock(*pending)

    def _put_back(self, connection: Any) -> None:
        """Return a connection that is no longer in use (pool lock held)."""
        if self._waiters:
            self._hand_over(connection)
        else:
            connection._drp_released_at = _monotonic()  # so MAX_IDLE can reap it in turn
            self._available_connections.append(connection)

    def _hand_over(self, connection: Any) -> None:
        """Give ``connection`` to the longest waiter (pool lock held); it stays counted in use."""
        waiter = self._waiters.popleft()
        self._in_use_connections.add(connection)
        waiter.connection = connection
        waiter.lock.release()

    def _release_extras(self, connection: Any) -> tuple[list[Any], list[str]] | None:
        to_close: list[Any] = []
        warnings: list[str] = []
        now = _monotonic()
        if self.leak_warning is not None:
            self._warn_if_held_too_long(connection, now, warnings, released=True)
            connection._drp_checkout = None
            self._scan_for_leaks(now, warnings)
        if self._expired(connection, now):
            # Retire it here: its socket is closed after the lock, so no waiter and no later
            # checkout may get this connection (it would be closed under its new owner). A
            # waiter gets a new, unconnected one in its slot instead.
            to_close.append(connection)
            self._closed_for_age += 1
            self._created_connections -= 1
            if self._waiters:
                self._hand_over(self.make_connection())
        elif self._waiters:
            self._hand_over(connection)
        else:
            connection._drp_released_at = now
            self._available_connections.append(connection)
            if self.max_idle is not None:
                self._reap_idle(now, to_close)
        return (to_close, warnings) if to_close or warnings else None

    # -- recycling and leak warnings (pool lock held) ----------------------------------------

    def _reap_idle(self, now: float, to_close: list[Any]) -> None:
        """Drop connections unused for longer than MAX_IDLE from the bottom of the LIFO stack."""
        assert self.max_idle is not None
        cutoff = now - self.max_idle
        available = self._available_connections
        reaped = 0
        while reaped < len(available) and getattr(available[reaped], "_drp_released_at", _INF) <= cutoff:
            reaped += 1
        if reaped:
            for connection in available[:reaped]:
                if _is_open(connection):
                    to_close.append(connection)
                    self._closed_for_idle += 1
            del available[:reaped]
            self._created_connections -= reaped

    def _expired(self, connection: Any, now: float) -> bool:
        """Whether ``connection`` is open and past its MAX_LIFETIME."""
        if self.max_lifetime is None:
            return False
        return getattr(connection, "_drp_expires_at", _INF) <= now and _is_open(connection)

    def _stamp_checkout(self, connection: Any, now: float) -> None:
        frame = sys._getframe(3)
        stack = traceback.StackSummary.extract(
            traceback.walk_stack(frame), limit=_LEAK_STACK_LIMIT, lookup_lines=False
        )
        stack.reverse()
        connection._drp_checkout = (now, stack, threading.current_thread().name)
        connection._drp_leak_warned = False

    def _warn_if_held_too_long(
        self, connection: Any, now: float, warnings: list[str], released: bool
    ) -> None:
        assert self.leak_warning is not None
        overdue = overdue_checkout(connection, now, self.leak_warning)
        if overdue is not None:
            held, stack, thread = overdue
            self._leak_warnings += 1
            warnings.append(
                leak_message(repr(self.alias), held, self.leak_warning, stack, f"thread {thread!r}", released)
            )

    def _scan_for_leaks(self, now: float, warnings: list[str]) -> None:
        assert self.leak_warning is not None
        if now < self._next_leak_scan:
            return
        self._next_leak_scan = now + min(self.leak_warning / 2, 1.0)
        # A copy: formatting a warning allocates, so the GC may run a finalizer (PubSub.__del__)
        # that releases into the pool, reentrantly, changing the set under this loop.
        for connection in list(self._in_use_connections):
            self._warn_if_held_too_long(connection, now, warnings, released=False)

    # -- observability ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """This process's counters for this pool (the keys of ``stats.STATS_KEYS``)."""
        if self.pid != _getpid():
            # A forked child before its first use: nothing here belongs to this process yet.
            return _empty_stats(self.max_connections)
        now = _monotonic()
        with self._lock:
            in_use = list(self._in_use_connections)
            idle = sum(1 for connection in self._available_connections if _is_open(connection))
            waits = list(self._recent_waits)
            counts = {
                "waiting": len(self._waiters),
                "peak_in_use": self._peak,
                "checkouts": self._checkouts,
                "waits": self._waits,
                "wait_ms_total": round(self._wait_total * 1000, 3),
                "wait_ms_max": round(self._wait_max * 1000, 3),
                "exhausted": self._exhausted,
                "closed_for_age": self._closed_for_age,
                "closed_for_idle": self._closed_for_idle,
                "leak_warnings": self._leak_warnings,
                "connection_errors": self._connection_errors,
            }
        with self._stats_lock:
            established = self._established
        # Read once: a release in another thread sets _drp_checkout to None at any moment.
        checkouts = [getattr(c, "_drp_checkout", None) for c in in_use]
        taken = [checkout[0] for checkout in checkouts if checkout is not None]
        return {
            "max_connections": self.max_connections,
            "in_use": len(in_use),
            "idle": idle,
            "waiting": counts["waiting"],
            "peak_in_use": counts["peak_in_use"],
            "connections_created": established,
            "checkouts": counts["checkouts"],
            "waits": counts["waits"],
            "wait_ms_total": counts["wait_ms_total"],
            "wait_ms_max": counts["wait_ms_max"],
            **wait_window(waits),
            "exhausted": counts["exhausted"],
            "connection_errors": counts["connection_errors"],
            "closed_for_age": counts["closed_for_age"],
            "closed_for_idle": counts["closed_for_idle"],
            "leak_warnings": counts["leak_warnings"],
            "oldest_checkout_age_s": round(now - min(taken), 3) if taken else None,
        }

    def __repr__(self) -> str:
        limits = f"max_connections={self.max_connections}"
        if self.blocking:
            limits += f", pool_timeout={self.timeout}"
        return f"<{type(self).__name__} alias={self.alias!r} url={self.safe_url!r} {limits}>"


def _set_read_timeout(connection: Any, timeout: float | None) -> None:
    """Set one connection's read timeout everywhere redis-py keeps it: the attribute (read at
    connect), the open socket, and the parser's copy, which the parser restores after every read with
    a timeout of its own (``can_read()``). The parser's names are redis-py's, stable from 5.x to 8.x."""
    connection.socket_timeout = timeout
    settimeout = getattr(getattr(connection, "_sock", None), "settimeout", None)
    if settimeout is not None:  # fakeredis's sockets have no timeout
        settimeout(timeout)
    parser: Any = getattr(connection, "_parser", None)
    if hasattr(parser, "_socket_timeout"):  # hiredis
        parser._socket_timeout = timeout
    buffer: Any = getattr(parser, "_buffer", None)
    if hasattr(buffer, "socket_timeout"):  # RESP2 and RESP3 in Python
        buffer.socket_timeout = timeout


def _after_lock(to_close: list[Any], warnings: list[str]) -> None:
    """Slow work kept out of the pool lock: closing sockets and logging."""
    for connection in to_close:
        connection.disconnect()
    for message in warnings:
        logger.warning("%s", message)


def _empty_stats(max_connections: int) -> dict[str, Any]:
    from .counters import STATS_KEYS

    stats: dict[str, Any] = dict.fromkeys(STATS_KEYS, 0)
    stats.update(
        max_connections=max_connections,
        wait_ms_total=0.0,
        wait_ms_max=0.0,
        wait_ms_p50=0.0,
        wait_ms_p99=0.0,
        wait_ms_window_max=0.0,
        oldest_checkout_age_s=None,
    )
    return stats


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
