"""What a pool reports about itself: the keys of ``get_stats()`` and the one function producing them.

Every pool (sync or asyncio, single server, Sentinel, a Cluster node) takes a :class:`Snapshot` of
its counters (:meth:`.policy.PoolPolicy.snapshot`); :func:`summarize` turns one snapshot, or the
snapshots of several pools (a Cluster's nodes, an alias's event loops), into the stats dict, so
the keys and their types are the same everywhere.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .state import Leak

# The keys of one pool's stats, in the order get_stats() and `redis_pool_status --format json`
# give them. New keys are only ever added.
STATS_KEYS = (
    "max_connections",
    "in_use",
    "idle",
    "waiting",
    "peak_in_use",
    "connections_created",
    "checkouts",
    "waits",
    "wait_ms_total",
    "wait_ms_max",
    "wait_ms_p50",
    "wait_ms_p99",
    "wait_ms_window_max",
    "exhausted",
    "connection_errors",
    "closed_for_age",
    "closed_for_idle",
    "leak_warnings",
    "oldest_checkout_age_s",
    "breaker_state",
    "breaker_opened",
    "breaker_refused",
)

# The wait percentiles cover the most recent waits, this many per pool.
WAIT_WINDOW = 1024

# Counts that add up across pools (the others are maxima, percentiles and ages).
SUMMED = (
    "max_connections",
    "in_use",
    "idle",
    "waiting",
    "connections_created",
    "checkouts",
    "waits",
    "exhausted",
    "connection_errors",
    "closed_for_age",
    "closed_for_idle",
    "leak_warnings",
    "breaker_opened",
    "breaker_refused",
)
# A circuit breaker's states, from the best to the worst: pools taken together report the worst.
BREAKER_STATES = ("closed", "half_open", "open")


class Snapshot(NamedTuple):
    """One pool's counters at one moment (seconds, not yet rounded to the stats' milliseconds)."""

    max_connections: int
    in_use: int
    idle: int
    waiting: int
    peak_in_use: int
    connections_created: int
    checkouts: int
    waits: int
    wait_total: float
    wait_max: float
    recent_waits: tuple[float, ...]
    exhausted: int
    connection_errors: int
    closed_for_age: int
    closed_for_idle: int
    leak_warnings: int
    oldest_checkout_age: float | None
    breaker_state: str = "closed"
    breaker_opened: int = 0
    breaker_refused: int = 0


class Counters:
    """Every counter of one pool (a base of :class:`.policy.PoolPolicy`, which changes them)."""

    def __init__(self) -> None:
        self.checkouts = self.peak = self.established = self.connection_errors = 0
        self.exhausted = self.waits = self.closed_for_age = self.closed_for_idle = self.leak_warnings = 0
        self.wait_total = self.wait_max = 0.0
        self.recent_waits: collections.deque[float] = collections.deque(maxlen=WAIT_WINDOW)

    def _record_wait(self, waited: float) -> None:
        self.waits += 1
        self.wait_total += waited
        self.recent_waits.append(waited)
        if waited > self.wait_max:
            self.wait_max = waited

    def counted(
        self, max_connections: int, in_use: int, idle: int, waiting: int, oldest: float | None
    ) -> Snapshot:
        """The counters with the pool's state at one moment (``oldest``: the longest checkout's age)."""
        return Snapshot(
            max_connections=max_connections,
            in_use=in_use,
            idle=idle,
            waiting=waiting,
            peak_in_use=self.peak,
            connections_created=self.established,
            checkouts=self.checkouts,
            waits=self.waits,
            wait_total=self.wait_total,
            wait_max=self.wait_max,
            recent_waits=tuple(self.recent_waits),
            exhausted=self.exhausted,
            connection_errors=self.connection_errors,
            closed_for_age=self.closed_for_age,
            closed_for_idle=self.closed_for_idle,
            leak_warnings=self.leak_warnings,
            oldest_checkout_age=oldest,
        )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending sequence (0.0 when it is empty)."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without importing math
    return ordered[int(rank) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summarize(snapshots: Iterable[Snapshot]) -> dict[str, Any]:
    """The stats of one pool, or of several taken together: counts summed, maxima and the oldest
    checkout the largest, percentiles over every pool's recent waits at once."""
    snapshots = list(snapshots)
    stats: dict[str, Any] = {key: sum(getattr(s, key) for s in snapshots) for key in SUMMED}
    waits = sorted(wait for s in snapshots for wait in s.recent_waits)
    ages = [s.oldest_checkout_age for s in snapshots if s.oldest_checkout_age is not None]
    stats.update(
        peak_in_use=max((s.peak_in_use for s in snapshots), default=0),
        wait_ms_total=_ms(sum(s.wait_total for s in snapshots)),
        wait_ms_max=_ms(max((s.wait_max for s in snapshots), default=0.0)),
        wait_ms_p50=_ms(percentile(waits, 0.50)),
        wait_ms_p99=_ms(percentile(waits, 0.99)),
        wait_ms_window_max=_ms(waits[-1] if waits else 0.0),
        oldest_checkout_age_s=round(max(ages), 3) if ages else None,
        breaker_state=max((s.breaker_state for s in snapshots), key=BREAKER_STATES.index, default="closed"),
    )
    return {key: stats[key] for key in STATS_KEYS}


def leak_message(pool: str, leak: Leak) -> str:
    """The LEAK_WARNING text: which pool, how long, and the stack of the code that took it."""
    state = "was released after" if leak.released else "has been checked out for"
    stack, owner = leak.origin or ([], "?")
    return (
        f"Redis pool {pool}: a connection {state} {leak.held:.1f}s, longer than "
        f"LEAK_WARNING={leak.limit:g}s. Taken by {owner} at:\n"
        + "".join(traceback.format_list(stack)).rstrip()
    )
