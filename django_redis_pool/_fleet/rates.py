"""Per-second rates of the fleet's counters, for ``redis_pool_status --watch``.

A rate comes from two snapshots of the same process (same host, pid and start time), divided by the
difference of their own ``published`` times, not by the time between two reads of the fleet: a
process publishes every ``INTERVAL`` seconds whatever the reader does. A process seen once, one that
restarted (a new start time: its counters began again at 0), or one whose counters went down (its
pools were rebuilt) has no rate (None), never a negative one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .view import process_key

# counter -> its rate's key
RATED = {"checkouts": "checkouts_per_s", "waits": "waits_per_s", "exhausted": "exhausted_per_s"}


def process_rate(before: Mapping[str, Any] | None, now: Mapping[str, Any]) -> dict[str, Any]:
    """The rates of one process between two of its rows (None each when they cannot be told)."""
    rate: dict[str, Any] = {"host": now["host"], "pid": now["pid"], "started": now["started"]}
    seconds = 0.0 if before is None else float(now["published"]) - float(before["published"])
    deltas = {} if before is None else {key: int(now[key]) - int(before[key]) for key in RATED}
    usable = before is not None and process_key(before) == process_key(now) and seconds > 0
    usable = usable and all(delta >= 0 for delta in deltas.values())
    for counter, key in RATED.items():
        rate[key] = round(deltas[counter] / seconds, 3) if usable else None
    rate["over_s"] = round(seconds, 3) if usable else None
    return rate


Process = tuple[str, int, float]


def alias_rates(before: Mapping[Process, Mapping[str, Any]], rows: list[Any]) -> dict[str, Any]:
    processes = [process_rate(before.get(process_key(row)), row) for row in rows]
    measured = [p for p in processes if p["over_s"] is not None]
    total: dict[str, Any] = {key: round(sum((p[key] for p in measured), 0.0), 3) for key in RATED.values()}
    total["processes_measured"] = len(measured)
    return {"processes": processes, "totals": total}


def rates(
    previous_view: Mapping[str, Any], current_view: Mapping[str, Any], seconds: float
) -> dict[str, Any]:
    """Per alias, each process's checkouts/s, waits/s and exhausted/s from ``previous_view`` to
    ``current_view`` (two :func:`~.view.fleet_view` answers read ``seconds`` apart), and their sums
    over the processes measured. A process whose snapshot did not change between the views gets None."""
    answer: dict[str, Any] = {}
    for alias, view in current_view["aliases"].items():
        old = previous_view["aliases"].get(alias, {"processes": []})
        before = {process_key(row): row for row in old["processes"]}
        answer[alias] = alias_rates(before, view["processes"])
    return {"interval_s": float(seconds), "aliases": answer}


class RateTracker:
    """For ``--watch``: each process's last two distinct snapshots, so that a process publishing every
    10 s keeps its rate on a screen redrawn every second."""

    def __init__(self) -> None:
        self._before: dict[tuple[str, Process], Mapping[str, Any]] = {}
        self._last: dict[tuple[str, Process], Mapping[str, Any]] = {}

    def update(self, view: Mapping[str, Any], seconds: float) -> dict[str, Any]:
        """The rates to show with ``view``, the fleet read ``seconds`` after the previous one."""
        before: dict[tuple[str, Process], Mapping[str, Any]] = {}
        last: dict[tuple[str, Process], Mapping[str, Any]] = {}
        answer: dict[str, Any] = {}
        for alias, alias_view in view["aliases"].items():
            for row in alias_view["processes"]:
                key = (alias, process_key(row))
                seen = self._last.get(key)
                if seen is not None and float(row["published"]) > float(seen["published"]):
                    before[key] = seen
                elif key in self._before:
                    before[key] = self._before[key]
                last[key] = row
            rows_before = {process: row for (name, process), row in before.items() if name == alias}
            answer[alias] = alias_rates(rows_before, alias_view["processes"])
        self._before, self._last = before, last
        return {"interval_s": float(seconds), "aliases": answer}
