"""The stats keys the contract expects, by type: written here, not read from the package."""

from __future__ import annotations

# One type per key, for every driver (the README's table): counts are int, durations float.
COUNTS = (
    "max_connections",
    "in_use",
    "idle",
    "waiting",
    "peak_in_use",
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
DURATIONS = ("wait_ms_total", "wait_ms_max", "wait_ms_p50", "wait_ms_p99", "wait_ms_window_max")
# Text: the circuit breaker's state ("closed", "half_open" or "open"; the worst of pools taken together).
TEXTS = ("breaker_state",)
