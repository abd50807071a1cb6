"""LEAK_WARNING, for :class:`.policy.PoolPolicy`: which checkouts are held too long, each reported once."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from .state import ConnectionState, Leak, Origin

C = TypeVar("C", bound=Hashable)


class LeakWatch(Generic[C]):
    """Checkout records and the scan over them; the policy owns the state named here."""

    leak_warning: float | None
    leak_warnings: int
    states: dict[C, ConnectionState]
    in_use: set[C]
    chores: list[C | Leak]

    def __init__(self) -> None:
        self.next_leak_scan = 0.0

    def _stamp_checkout(self, connection: C, now: float, origin: Origin | None) -> None:
        state = self.states.get(connection)
        if state is not None:
            state.checked_out_at, state.origin, state.leak_warned = now, origin, False
        self._scan_for_leaks(now)

    def _stamp_release(self, connection: C, now: float) -> None:
        self._report_overdue(connection, now, released=True)
        state = self.states.get(connection)
        if state is not None:
            state.checked_out_at = state.origin = None
        self._scan_for_leaks(now)

    def _oldest_checkout(self, now: float) -> float | None:
        """How long the longest-held checkout has been held (None: none is recorded)."""
        states = [self.states.get(connection) for connection in tuple(self.in_use)]
        taken = [s.checked_out_at for s in states if s is not None and s.checked_out_at is not None]
        return now - min(taken) if taken else None

    def _report_overdue(self, connection: C, now: float, released: bool) -> None:
        assert self.leak_warning is not None
        state = self.states.get(connection)
        if state is None or state.checked_out_at is None or state.leak_warned:
            return
        held = now - state.checked_out_at
        if held > self.leak_warning:
            state.leak_warned = True
            self.leak_warnings += 1
            self.chores.append(Leak(held, self.leak_warning, state.origin, released))

    def _scan_for_leaks(self, now: float) -> None:
        assert self.leak_warning is not None
        if now < self.next_leak_scan:
            return
        self.next_leak_scan = now + min(self.leak_warning / 2, 1.0)
        # A copy: an allocation may run a finalizer (PubSub.__del__) that releases into the pool.
        for connection in list(self.in_use):
            self._report_overdue(connection, now, released=False)
