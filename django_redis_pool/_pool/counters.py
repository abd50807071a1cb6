"""What a pool reports about itself: the keys of ``get_stats()`` and how waits are summarised.

The counting itself lives in :mod:`django_redis_pool._pool.thread_driver`, under the pool lock.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Iterable, Sequence
from typing import Any

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
)

# The wait percentiles cover the most recent waits, this many.
WAIT_WINDOW = 1024


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending sequence (0.0 when it is empty)."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without importing math
    return ordered[int(rank) - 1]


def wait_window(recent: Iterable[float]) -> dict[str, float]:
    """``wait_ms_p50``, ``wait_ms_p99`` and ``wait_ms_window_max`` of the recent waits (seconds)."""
    waits = sorted(recent)
    return {
        "wait_ms_p50": round(percentile(waits, 0.50) * 1000, 3),
        "wait_ms_p99": round(percentile(waits, 0.99) * 1000, 3),
        "wait_ms_window_max": round((waits[-1] if waits else 0.0) * 1000, 3),
    }


def overdue_checkout(connection: Any, now: float, limit: float) -> tuple[float, Any, str] | None:
    """(seconds held, stack, owner) of a checkout held longer than ``limit`` and not reported yet,
    which it marks reported; None otherwise. The pools stamp ``_drp_checkout`` at checkout."""
    checkout = getattr(connection, "_drp_checkout", None)
    if checkout is None or connection._drp_leak_warned:
        return None
    taken_at, stack, owner = checkout
    held = now - taken_at
    if held <= limit:
        return None
    connection._drp_leak_warned = True
    return held, stack, owner


def leak_message(pool: str, held: float, limit: float, stack: Any, taken_by: str, released: bool) -> str:
    """The LEAK_WARNING text: which pool, how long, and the stack of the code that took it."""
    state = "was released after" if released else "has been checked out for"
    return (
        f"Redis pool {pool}: a connection {state} {held:.1f}s, longer than LEAK_WARNING={limit:g}s. "
        f"Taken by {taken_by} at:\n" + "".join(traceback.format_list(stack)).rstrip()
    )


class PoolCounters:
    """The counters both pool kinds keep (``stats()`` reports them), and their zeroing."""

    def _zero_counters(self) -> None:
        self._checkouts = 0
        self._peak = 0
        self._established = 0
        self._connection_errors = 0
        self._exhausted = 0
        self._waits = 0
        self._wait_total = 0.0
        self._wait_max = 0.0
        self._recent_waits: collections.deque[float] = collections.deque(maxlen=WAIT_WINDOW)
        self._closed_for_age = 0
        self._closed_for_idle = 0
        self._leak_warnings = 0
        self._next_leak_scan = 0.0
