"""COMMAND_TIMEOUT: one deadline for a whole call through a pooled client, redis-py's retries included.

redis-py retries a failed command (and, nested inside it, a failed connect) through the connection's
``retry.call_with_retry``; each attempt may take the full connect and socket timeouts and is followed
by a backoff, so a black-holed server costs ``attempts x (timeouts + backoff)``. The retry classes
here keep redis-py's loop and add a deadline: no retry starts when its backoff would reach the
deadline, and every attempt's socket timeouts are shortened to what is left of it.

A call starts when the pool hands a connection out (:func:`hold`; the wait for a free connection is
bounded by POOL_TIMEOUT on its own), so the checkout's connect and the command share one budget. The
first outermost ``call_with_retry`` after the checkout (the command, the pipeline's or transaction's
EXEC) ends it. A connection kept checked out (PubSub, a WATCHing pipeline) gets a fresh budget for
each later call. Each connection has its own copy of the retry object (redis-py deep-copies it), and
one caller at a time, so the state lives on the retry object.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard, TypeVar, cast

from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import compat

T = TypeVar("T")

_monotonic = time.monotonic

# An attempt given less than this cannot make a round trip worth waiting for: stop instead.
MIN_ATTEMPT = 0.005


def derived_budget(connect_timeout: float | None, read_timeout: float | None) -> float | None:
    """COMMAND_TIMEOUT's default: one whole attempt (connect, then a reply), or None (no deadline)
    when either may block forever. Retries that fail fast (a refused connect) fit inside it."""
    if read_timeout is None:
        return None
    connect = read_timeout if connect_timeout is None else connect_timeout
    return float(connect + read_timeout)


def may_retry(now: float, deadline: float | None, backoff: float) -> bool:
    """Whether an attempt after sleeping ``backoff`` still has time to do anything."""
    return deadline is None or now + backoff + MIN_ATTEMPT < deadline


def attempt_timeout(configured: float | None, remaining: float) -> float:
    """An attempt's socket timeout: the configured one, shortened to what is left of the budget."""
    remaining = max(remaining, MIN_ATTEMPT)
    return remaining if configured is None or configured > remaining else configured


class Deadline:
    """The deadline state and arithmetic, shared by the sync and asyncio retry classes."""

    _backoff: Any
    _retries: int

    def __init__(
        self,
        backoff: Any,
        retries: int,
        supported_errors: Any = None,
        *,
        command_timeout: float | None = None,
        derived: bool = False,
    ) -> None:
        # redis-py's Retry (sync or asyncio, next in the MRO), with its own default errors unless given.
        errors = () if supported_errors is None else (supported_errors,)
        cast(Any, super()).__init__(backoff, retries, *errors)
        self._init_deadline(command_timeout, derived)

    def _init_deadline(self, command_timeout: float | None, derived: bool) -> None:
        self.command_timeout = command_timeout
        self.derived = derived
        self._deadline: float | None = None
        self._depth = 0  # nested call_with_retry (a connect inside a command), and the checkout's hold
        self._handed_over = False
        self._connection: Any = None
        self._saved: tuple[Any, Any] | None = None

    def budget_for(self, connection: Any) -> float | None:
        """The seconds one call on ``connection`` may take (None: no deadline)."""
        if not self.derived:
            return self.command_timeout
        return derived_budget(
            getattr(connection, "socket_connect_timeout", None), getattr(connection, "socket_timeout", None)
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # redis-py copies the pool's retry into each new connection: a fresh copy, bound to nothing.
        twin = copy.copy(self)
        twin._backoff = copy.deepcopy(self._backoff, memo)
        twin._init_deadline(self.command_timeout, self.derived)
        return twin

    # -- the pool's side -----------------------------------------------------------------------

    def checkout_started(self, connection: Any, now: float) -> None:
        # Whatever the previous owner left (a checkout never followed by a command, or one that
        # failed), this owner starts afresh.
        self._restore()
        self._connection = connection
        budget = self.budget_for(connection)
        self._deadline = None if budget is None else now + budget
        self._depth = 1  # the checkout holds the budget: its connect is nested in it
        self._handed_over = False

    def checkout_done(self) -> None:
        self._depth = 0
        self._handed_over = self._deadline is not None

    # -- call_with_retry's side ----------------------------------------------------------------

    def _enter(self) -> None:
        if self._depth == 0 and not self._handed_over:
            budget = self.budget_for(self._connection) if self._connection is not None else None
            self._deadline = None if budget is None else _monotonic() + budget
        self._handed_over = False
        self._depth += 1

    def _exit(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._deadline = None
            self._restore()

    def _before_attempt(self) -> None:
        connection, deadline = self._connection, self._deadline
        if connection is None or deadline is None:
            return
        if self._saved is None:
            self._saved = (connection.socket_timeout, connection.socket_connect_timeout)
        remaining = deadline - _monotonic()
        self._set_timeouts(
            connection,
            attempt_timeout(self._saved[0], remaining),
            attempt_timeout(self._saved[1], remaining),
        )

    def _restore(self) -> None:
        if self._saved is not None and self._connection is not None:
            self._set_timeouts(self._connection, *self._saved)
        self._saved = None

    def _may_retry(self, failures: int) -> float | None:
        """The backoff to sleep before the next attempt, or None to give up now."""
        if self._retries >= 0 and failures > self._retries:
            return None
        backoff = float(self._backoff.compute(failures))
        return backoff if may_retry(_monotonic(), self._deadline, backoff) else None

    def _set_timeouts(self, connection: Any, read: float | None, connect: float | None) -> None:
        # redis.asyncio reads both attributes at every connect and read; the sync class does more.
        connection.socket_timeout = read
        connection.socket_connect_timeout = connect


class DeadlineRetry(Deadline, Retry):
    """redis-py's ``Retry`` bounded by COMMAND_TIMEOUT (sync connections)."""

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        failures = 0
        self._enter()
        try:
            while True:
                self._before_attempt()
                try:
                    return do()
                except self._supported_errors as error:
                    if is_retryable is not None and not is_retryable(error):
                        raise
                    failures += 1
                    if with_failure_count:
                        fail(error, failures)
                    else:
                        fail(error)
                    backoff = self._may_retry(failures)
                    if backoff is None:
                        raise
                    if backoff > 0:
                        time.sleep(backoff)
        finally:
            self._exit()

    def _set_timeouts(self, connection: Any, read: float | None, connect: float | None) -> None:
        connection.socket_connect_timeout = connect
        compat.set_read_timeout(connection, read)

    def asyncio_twin(self) -> AsyncDeadlineRetry:
        """The same policy for redis.asyncio's connections."""
        return AsyncDeadlineRetry(
            copy.deepcopy(self._backoff),
            self._retries,
            command_timeout=self.command_timeout,
            derived=self.derived,
        )


class AsyncDeadlineRetry(Deadline, AsyncRetry):
    """redis.asyncio's ``Retry`` bounded by COMMAND_TIMEOUT."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()
        failures = 0
        self._enter()
        try:
            while True:
                self._before_attempt()
                try:
                    return await do()
                except self._supported_errors as error:
                    if is_retryable is not None and not is_retryable(error):
                        raise
                    failures += 1
                    if with_failure_count:
                        await fail(error, failures)
                    else:
                        await fail(error)
                    backoff = self._may_retry(failures)
                    if backoff is None:
                        raise
                    if backoff > 0:
                        await asyncio.sleep(backoff)
        finally:
            self._exit()


def with_deadline(retry: Any, command_timeout: float | None, derived: bool, retry_once: bool = False) -> Any:
    """The retry a pooled connection gets: ``retry`` (a redis-py ``Retry`` or None) with the deadline.

    None (no retries) becomes a deadline with no retries (one if ``retry_once``, as redis-py does
    for ``retry_on_timeout``). A subclass of ``Retry`` is the user's own: left as it is (the checks
    say its retries are not bounded).
    """
    if not derived and command_timeout is None:
        return retry
    if isinstance(retry, Deadline):
        return retry
    if retry is None:
        return DeadlineRetry(
            NoBackoff(), 1 if retry_once else 0, command_timeout=command_timeout, derived=derived
        )
    if type(retry) not in (Retry, AsyncRetry):
        return retry
    return DeadlineRetry(
        compat.retry_backoff(retry),
        compat.retry_count(retry),
        compat.retry_errors(retry) if type(retry) is Retry else None,
        command_timeout=command_timeout,
        derived=derived,
    )


def is_bounded(retry: Any) -> TypeGuard[Deadline]:
    """Whether ``retry`` enforces a deadline (one of this module's classes)."""
    return isinstance(retry, Deadline)


def hold(connection: Any) -> Deadline | None:
    """A checkout hands ``connection`` out: its call's budget starts now (the pool drivers call this)."""
    retry = getattr(connection, "retry", None)
    if isinstance(retry, Deadline):
        retry.checkout_started(connection, _monotonic())
        return retry
    return None


def hand_over(held: Deadline | None) -> None:
    """The checkout is done: the caller's first command continues the same budget."""
    if held is not None:
        held.checkout_done()
