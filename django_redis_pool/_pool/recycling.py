"""MAX_LIFETIME and MAX_IDLE, for :class:`.policy.PoolPolicy`: which connections are too old or too idle."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .state import ConnectionState, Leak

C = TypeVar("C", bound=Hashable)


class Recycling(Generic[C]):
    """The checks of connections' ages; the policy owns the state named here."""

    max_idle: float | None
    closed_for_idle: int
    slots: int
    idle: list[C]
    states: dict[C, ConnectionState]
    chores: list[C | Leak]
    is_open: Callable[[C], bool]

    def _reap(self, now: float) -> None:
        """Close connections idle longer than MAX_IDLE, from the bottom of the LIFO stack."""
        assert self.max_idle is not None
        cutoff = now - self.max_idle
        idle, states = self.idle, self.states
        reaped = 0
        while reaped < len(idle) and (s := states.get(idle[reaped])) is not None and s.released_at <= cutoff:
            reaped += 1
        if not reaped:
            return
        stale, idle[:reaped] = idle[:reaped], []
        self.slots -= reaped
        for connection in stale:
            self.states.pop(connection, None)
            if self.is_open(connection):
                self.closed_for_idle += 1
                self.chores.append(connection)

    def _expired(self, connection: C, now: float) -> bool:
        state = self.states.get(connection)
        return state is not None and state.expires_at <= now and self.is_open(connection)
