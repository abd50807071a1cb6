"""The pool's decisions, without I/O: who gets which connection, when one is too old or idle, what
is a leak (:mod:`.leaks`), and every counter (:mod:`.counters`).

A driver (:mod:`.thread_driver` under its lock, :mod:`.async_driver` between two awaits) tells the
policy what happened and does what the answer says: hand over a connection, make one, queue the
caller, wake a waiter, close sockets, log. Time comes in as ``now``, randomness as ``random``, and
whether a connection holds a socket through ``is_open``. A *slot* (a unit of MAX_CONNECTIONS) is a
connection or one reserved for a caller about to make it; a release frees it or passes it on, so
``len(in_use) + len(idle) + reserved == slots <= max_connections`` always holds.
"""

from __future__ import annotations

import collections
import enum
import random as _random
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from .breaker import DEFAULT_FIRST_DELAY, DEFAULT_MAX_DELAY, DEFAULT_THRESHOLD, REFUSE, Breaker, Breaking
from .counters import Counters, Snapshot, summarize
from .leaks import LeakWatch
from .recycling import Recycling
from .state import ConnectionState, Leak, Origin

C = TypeVar("C", bound=Hashable)  # a connection, opaque
W = TypeVar("W", bound=Hashable)  # a waiter's token, made by the driver, opaque


class Decision(enum.Enum):
    CREATE = "make a connection for the caller (its slot is reserved)"
    WAIT = "queue the caller: enqueue() a token, then claim() or abandon() it"
    EXHAUSTED = "refuse at once: the pool is full and does not wait"
    IGNORED = "not a connection this pool has checked out: nothing to do"
    REFUSED = "refuse at once: the circuit breaker is open"


CREATE = Decision.CREATE
WAIT = Decision.WAIT
EXHAUSTED = Decision.EXHAUSTED
IGNORED = Decision.IGNORED
REFUSED = Decision.REFUSED


class PoolPolicy(Counters, LeakWatch[C], Recycling[C], Breaking[C], Generic[C, W]):
    """One pool's state and decisions; see the module docstring."""

    def __init__(
        self,
        max_connections: int,
        *,
        blocking: bool = True,
        max_lifetime: float | None = None,
        max_idle: float | None = None,
        leak_warning: float | None = None,
        is_open: Callable[[C], bool] = lambda connection: True,
        random: Callable[[], float] = _random.random,
        breaker: tuple[int, float, float] = (DEFAULT_THRESHOLD, DEFAULT_FIRST_DELAY, DEFAULT_MAX_DELAY),
    ) -> None:
        self._settings: dict[str, Any] = {
            "breaker": breaker,
            "blocking": blocking,
            "max_lifetime": max_lifetime,
            "max_idle": max_idle,
            "leak_warning": leak_warning,
            "is_open": is_open,
            "random": random,
        }
        self.max_connections = max_connections
        self.blocking = blocking
        self.max_lifetime = max_lifetime
        self.max_idle = max_idle
        self.leak_warning = leak_warning
        self.is_open = is_open
        self.random = random
        # No recycling and no leak warnings: the drivers skip the clock and the slow paths.
        self.plain = max_lifetime is None and max_idle is None and leak_warning is None
        self.timed = not self.plain  # whether releases need ``now``
        self.breaker = Breaker(*breaker)
        # take_idle()'s one test: plain, and the breaker closed.
        self.fast = self.plain
        self.idle: list[C] = []  # a LIFO stack: the top is reused first, the bottom ages out
        self.in_use: set[C] = set()
        self.states: dict[C, ConnectionState] = {}
        self.waiters: collections.deque[W] = collections.deque()
        self.handed: dict[W, C | None] = {}  # woken waiters, not yet claimed (None: a slot to fill)
        self.slots = 0
        self.reserved = 0
        # Work for the driver once it has let go of its lock: connections to close, leaks to log.
        self.chores: list[C | Leak] = []
        Counters.__init__(self)
        LeakWatch.__init__(self)

    def renewed(self) -> PoolPolicy[C, W]:
        """A fresh policy with the same settings: a forked child's, which owns nothing yet."""
        return type(self)(self.max_connections, **self._settings)

    @property
    def connections(self) -> int:
        """Connections that exist: what redis-py calls ``_created_connections``."""
        return self.slots - self.reserved

    # -- checkout --------------------------------------------------------------------------

    def take_idle(self) -> C | None:
        """The uncontended checkout: the top idle connection, when nothing else needs deciding."""
        idle = self.idle
        if idle and self.fast:  # an idle connection means nobody waits
            connection = idle.pop()
            in_use = self.in_use
            in_use.add(connection)
            self.checkouts += 1
            if len(in_use) > self.peak:
                self.peak = len(in_use)
            return connection
        return None

    def checkout(self, now: float, origin: Origin | None = None) -> C | Decision:
        """A connection, CREATE (its slot reserved: make it, then :meth:`created`), WAIT, EXHAUSTED,
        or REFUSED (the breaker is open)."""
        if self.breaker.tripped and self.breaker.admit(now) is REFUSE:
            return REFUSED
        if self.max_idle is not None:
            self._reap(now)
        if self.idle and not self.waiters:
            connection = self.idle.pop()
            self.in_use.add(connection)
            self._checked_out(connection, now, origin)
            return connection
        if self.slots < self.max_connections and not self.waiters:
            self.slots += 1
            self.reserved += 1
            return CREATE
        if self.blocking:
            return WAIT
        self.exhausted += 1
        return EXHAUSTED

    def created(self, connection: C, now: float, origin: Origin | None = None) -> None:
        """The connection made for a reserved slot; it is checked out to the caller."""
        self.reserved -= 1
        self.states[connection] = ConnectionState(now)
        self.in_use.add(connection)
        self._checked_out(connection, now, origin)

    def creation_failed(self) -> W | None:
        """Making a connection for a reserved slot raised: the slot is free again (or passed on)."""
        self.reserved -= 1
        return self._free_slot()

    def checkout_failed(self, connection_error: bool, now: float = 0.0, error: str = "") -> None:
        """The caller could not connect: not a checkout (the driver releases the connection).
        ``connection_error``: the server could not be reached (``error`` says how), which counts
        towards opening the breaker; anything else (a cancelled probe) does not."""
        self.checkouts -= 1
        if connection_error:
            self.connect_failed(now, error)
        else:  # counted where it failed, or not a connection failure: a probe ends either way
            self.breaker.abandoned()

    # -- waiting ---------------------------------------------------------------------------

    def enqueue(self, waiter: W) -> None:
        self.waiters.append(waiter)

    def claim(
        self, waiter: W, now: float, waited: float, origin: Origin | None = None
    ) -> C | Decision | None:
        """A woken or timed-out waiter's outcome: its connection, CREATE (a reserved slot), or None
        (it timed out, counted as exhausted). A hand-over wins over a timeout that came with it."""
        self._record_wait(waited)
        if waiter not in self.handed:
            self.waiters.remove(waiter)
            self.exhausted += 1
            return None
        connection = self.handed.pop(waiter)
        if connection is None:
            return CREATE
        self._checked_out(connection, now, origin)
        return connection

    def expire(self, waiter: W, waited: float) -> bool:
        """A waiter's timer fired: True when it leaves the queue empty-handed (counted exhausted),
        False when a connection was handed to it first (it claims that one)."""
        if waiter in self.handed or waiter not in self.waiters:
            return False
        self._record_wait(waited)
        self.waiters.remove(waiter)
        self.exhausted += 1
        return True

    def abandon(self, waiter: W, now: float, waited: float) -> W | None:
        """A waiter was interrupted (cancelled, KeyboardInterrupt): it leaves the queue, and what was
        handed to it at the last moment goes to the next waiter; returns that waiter to wake."""
        self._record_wait(waited)
        if waiter not in self.handed:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            return None
        connection = self.handed.pop(waiter)
        if connection is None:
            self.reserved -= 1
            return self._free_slot()
        self.in_use.discard(connection)
        return self._put_back(connection, now)

    # -- release ---------------------------------------------------------------------------

    def release(self, connection: C, now: float, owned: int = True) -> W | Decision | None:
        """Where a returned connection goes: a waiter to wake, None (idle, or closed and its slot
        freed), or IGNORED. ``owned`` False: the driver's pool disowns it (redis-py's
        ``owns_connection``), so it is closed and its slot freed."""
        if self.plain and owned and not self.waiters and not self.handed:
            try:
                self.in_use.remove(connection)
            except KeyError:
                return IGNORED
            self.idle.append(connection)
            return None
        if connection not in self.in_use or connection in self.handed.values():
            return IGNORED  # not ours, or already on its way to a waiter
        self.in_use.remove(connection)
        if self.leak_warning is not None:
            self._stamp_release(connection, now)
        expired = owned and self._expired(connection, now)
        if expired or not owned:
            # Retired before anyone else can have it: the driver closes it, a waiter gets the slot.
            if expired:
                self.closed_for_age += 1
            self.states.pop(connection, None)
            self.chores.append(connection)
            return self._free_slot()
        return self._put_back(connection, now)

    def releasable(self, connection: C) -> bool:
        """Whether :meth:`release` would take ``connection`` back (checked out, not in transit)."""
        return connection in self.in_use and connection not in self.handed.values()

    def connected(self, connection: C, now: float) -> None:
        """A socket was established (first connect or reconnect): counted; its lifetime starts."""
        self.established += 1
        if self.breaker.failures or self.breaker.tripped:
            self.close_breaker()
        state = self.states.get(connection)
        if state is not None and self.max_lifetime is not None:
            state.expires_at = now + self.max_lifetime * (1.0 - self.random() * 0.1)

    def take_chores(self) -> list[C | Leak]:
        chores, self.chores = self.chores, []
        return chores

    # -- observability ---------------------------------------------------------------------

    def snapshot(self, now: float) -> Snapshot:
        # tuple(): copied in one C-level step, as the fleet publisher's thread reads asyncio pools too.
        idle = sum(1 for connection in tuple(self.idle) if self.is_open(connection))
        oldest = self._oldest_checkout(now)
        breaker = self.breaker
        return self.counted(self.max_connections, len(self.in_use), idle, len(self.waiters), oldest)._replace(
            breaker_state=breaker.state, breaker_opened=breaker.times_opened, breaker_refused=breaker.refused
        )

    def stats(self, now: float) -> dict[str, Any]:
        """This pool's stats: the keys of ``counters.STATS_KEYS``, the same for every driver."""
        return summarize([self.snapshot(now)])

    def _checked_out(self, connection: C, now: float, origin: Origin | None) -> None:
        self.checkouts += 1
        if len(self.in_use) > self.peak:
            self.peak = len(self.in_use)
        if self.max_lifetime is not None and self._expired(connection, now):
            self.closed_for_age += 1
            self.chores.append(connection)  # closed by its new owner, which then reconnects it
        if self.leak_warning is not None:
            self._stamp_checkout(connection, now, origin)

    def _put_back(self, connection: C, now: float) -> W | None:
        if self.waiters:
            waiter = self.waiters.popleft()
            self.handed[waiter] = connection
            self.in_use.add(connection)  # in use by the waiter from now on
            return waiter
        state = self.states.get(connection)
        if state is not None:
            state.released_at = now
        self.idle.append(connection)
        if self.max_idle is not None:
            self._reap(now)
        return None

    def _free_slot(self) -> W | None:
        """One slot less in use: the longest waiter gets it to make a connection in, if any."""
        if self.waiters:
            waiter = self.waiters.popleft()
            self.handed[waiter] = None
            self.reserved += 1
            return waiter
        self.slots -= 1
        return None
