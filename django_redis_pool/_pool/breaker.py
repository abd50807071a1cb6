"""The circuit breaker of one pool, without I/O: when to stop trying to connect, and when to try again.

Closed, it counts connection failures (a connect or its handshake that failed: refused, timed out,
closed by the server) since the last successful connect. At ``threshold`` of them it opens: every
checkout is refused at once, no socket touched, until ``next_probe``. Then it is half-open: one
caller (the probe) may connect; success closes it, failure opens it again for twice as long, up to
``max_delay``. The pool asks :attr:`tripped` on every checkout, one attribute read; nothing else of
this runs while the breaker is closed and connections succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from ..exceptions import CircuitOpenError
from .state import Leak

C = TypeVar("C", bound=Hashable)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# What admit() answers.
ALLOW = "allow"
PROBE = "probe"
REFUSE = "refuse"

DEFAULT_THRESHOLD = 5
DEFAULT_FIRST_DELAY = 1.0
DEFAULT_MAX_DELAY = 10.0


class Breaker:
    __slots__ = (
        "delay",
        "failures",
        "first_delay",
        "last_error",
        "max_delay",
        "next_probe",
        "probing",
        "refused",
        "state",
        "threshold",
        "times_opened",
        "tripped",
    )

    def __init__(
        self,
        threshold: int = DEFAULT_THRESHOLD,
        first_delay: float = DEFAULT_FIRST_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
    ) -> None:
        self.threshold = threshold  # 0: never opens
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.state = CLOSED
        self.tripped = False  # state != CLOSED: the one thing a checkout reads
        self.failures = 0  # connection failures since the last successful connect
        self.delay = first_delay
        self.next_probe = 0.0
        self.probing = False
        self.last_error = ""
        self.times_opened = 0
        self.refused = 0

    def settings(self) -> tuple[int, float, float]:
        return self.threshold, self.first_delay, self.max_delay

    def admit(self, now: float) -> str:
        """Whether a checkout may go on (ALLOW), is the half-open probe (PROBE), or is refused."""
        if not self.tripped:
            return ALLOW
        if not self.probing and now >= self.next_probe:
            self.state = HALF_OPEN
            self.probing = True
            return PROBE
        self.refused += 1
        return REFUSE

    def failed(self, now: float, error: str) -> None:
        """A connection attempt failed (``error``: its type and message, with no secret in it)."""
        self.last_error = error
        if self.probing:
            self.probing = False
            self._open(now, min(self.delay * 2, self.max_delay))
            return
        self.failures += 1
        if not self.tripped and self.threshold and self.failures >= self.threshold:
            self.times_opened += 1
            self._open(now, self.first_delay)

    def succeeded(self) -> None:
        """A connection was established: the server is there."""
        self.failures = 0
        if self.tripped:
            self.close()

    def abandoned(self) -> None:
        """The probe gave up for another reason (cancelled, interrupted): another caller may probe."""
        if self.probing:
            self.probing = False
            self.state = OPEN

    def close(self) -> None:
        """Closed again: the server answered, or a Sentinel watcher saw a new master."""
        self.state = CLOSED
        self.tripped = self.probing = False
        self.failures = 0
        self.delay = self.first_delay

    def retry_in(self, now: float) -> float:
        """Seconds until a caller may probe (0 when one may now, or one is probing)."""
        return max(0.0, self.next_probe - now)

    def _open(self, now: float, delay: float) -> None:
        self.state = OPEN
        self.tripped = True
        self.delay = delay
        self.next_probe = now + delay


class Breaking(Generic[C]):
    """The breaker's part of :class:`.policy.PoolPolicy`, which owns the state named here."""

    breaker: Breaker
    connection_errors: int
    fast: bool
    plain: bool
    idle: list[C]
    chores: list[C | Leak]
    is_open: Callable[[C], bool]

    def connect_failed(self, now: float, error: str) -> None:
        """A connect of this pool failed (at checkout, or a reconnect inside redis-py's retries)."""
        self.connection_errors += 1
        self._connection_failed(now, error)

    def _connection_failed(self, now: float, error: str) -> None:
        breaker = self.breaker
        was_open = breaker.tripped
        breaker.failed(now, error)
        if breaker.tripped:
            self.fast = False
            if not was_open:
                # Idle sockets to a server that stopped answering are closed (they stay pooled, as
                # connections to reopen): the next caller admitted connects afresh, a real probe.
                self.chores.extend(c for c in self.idle if self.is_open(c))

    def close_breaker(self) -> None:
        """Connected again, or the server is back by other news (a Sentinel watcher saw a new
        master): stop refusing."""
        self.breaker.succeeded()
        self.breaker.close()
        self.fast = self.plain


def describe(error: BaseException) -> str:
    """An error as the breaker keeps it: its type and message (redis-py's connect errors name the
    host and port, never a password)."""
    return f"{type(error).__name__}: {error}"


def refused(alias: str, breaker: Breaker, now: float) -> CircuitOpenError:
    return CircuitOpenError(alias, breaker.threshold, breaker.last_error, breaker.retry_in(now))
