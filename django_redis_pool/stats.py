"""What a pool reports about itself: the keys of ``get_stats()`` and how waits are summarised.

The counting itself lives in :mod:`django_redis_pool.pools`, under the pool lock.
"""

from __future__ import annotations

from collections.abc import Sequence

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
