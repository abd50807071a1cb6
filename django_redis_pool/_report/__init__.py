"""The one place that turns pools into stats and reports: ``get_stats()``, the status command's
document, and what health and metrics show."""

from __future__ import annotations

from .stats import async_stats, client_list, get_stats, pool_rows, stats_of, this_process
from .status import NO_CLIENT_NAMES, build_report, group_by_process, unreachable

__all__ = [
    "NO_CLIENT_NAMES",
    "async_stats",
    "build_report",
    "client_list",
    "get_stats",
    "group_by_process",
    "pool_rows",
    "stats_of",
    "this_process",
    "unreachable",
]
