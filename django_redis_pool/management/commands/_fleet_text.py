"""The text of ``redis_pool_status``'s fleet section and advice (``_``: not a command of its own)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Style = Callable[[str], str]

FLEET_HINT = (
    "fleet: off. Set REDIS_POOL_FLEET = {'ALIAS': 'default', 'INTERVAL': 10} to see every process's "
    "pools here (each process publishes a snapshot of them into that alias)."
)

COLUMNS = (
    "HOST",
    "PID",
    "ROLE",
    "AGE",
    "IN_USE",
    "IDLE",
    "MAX",
    "PEAK",
    "WAITS",
    "P50_MS",
    "P99_MS",
    "MAX_MS",
    "EXHAUSTED",
    "ERRORS",
    "CLOSED_AGE",
    "CLOSED_IDLE",
)
RATE_COLUMNS = ("CHECKOUTS/S", "WAITS/S", "EXHAUSTED/S")
RATE_KEYS = ("checkouts_per_s", "waits_per_s", "exhausted_per_s")
# self.style's colours: kept whole when a line is cut, and not counted in its width.
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def fit(line: str, width: int | None) -> str:
    """``line`` cut to ``width`` visible characters (None: whole), as ``top`` cuts its lines to the
    terminal: a wrapped table is unreadable."""
    if width is None or len(_ESCAPE.sub("", line)) <= width:
        return line
    parts, shown, position = [], 0, 0
    for match in [*_ESCAPE.finditer(line), None]:
        end = len(line) if match is None else match.start()
        text = line[position:end][: max(0, width - shown)]
        parts.append(text)
        shown += len(text)
        if match is not None:
            parts.append(match.group())
            position = match.end()
    return "".join(parts)


def aligned(rows: Sequence[Sequence[Any]], left: int) -> list[str]:
    """Columns padded to their widest cell, two spaces apart: the first ``left`` ones left-aligned,
    the others (numbers) right-aligned."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            str(cell).ljust(width) if column < left else str(cell).rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _ms(value: float) -> str:
    return f"{value:g}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _counts(row: Mapping[str, Any]) -> list[Any]:
    return [
        row["in_use"],
        row["idle"],
        row["max_connections"],
        row["peak_in_use"],
        row["waits"],
        _ms(row["wait_ms_p50"]),
        _ms(row["wait_ms_p99"]),
        _ms(row["wait_ms_max"]),
        row["exhausted"],
        row["connection_errors"],
        row["closed_for_age"],
        row["closed_for_idle"],
    ]


def alias_lines(
    alias: str,
    view: Mapping[str, Any],
    warn: Style,
    error: Style,
    rates: Mapping[str, Any] | None = None,
) -> list[str]:
    """One alias's fleet table, its totals line and its flagged processes."""
    rows, totals = view["processes"], view["totals"]
    header = f"{alias}: {totals['processes']} process(es) publishing"
    if view["flagged"]:
        header += f", {len(view['flagged'])} flagged"
    if not rows:
        return [f"  {header}", *_flagged(view, warn)]
    by_process = {(r["host"], r["pid"], r["started"]): r for r in (rates or {}).get("processes", [])}
    table: list[list[Any]] = [list(COLUMNS) + (list(RATE_COLUMNS) if rates is not None else [])]
    for row in rows:
        cells = [row["host"], row["pid"], row["role"] or "?", f"{row['age_s']:.0f}s", *_counts(row)]
        if rates is not None:
            rate = by_process.get((row["host"], row["pid"], row["started"]), {})
            cells += [_rate(rate.get(key)) for key in RATE_KEYS]
        table.append(cells)
    total = ["total", "", "", "", *_counts(totals)]
    if rates is not None:
        total += [_rate(rates["totals"][key]) for key in RATE_KEYS]
    table.append(total)
    lines = aligned(table, left=3)
    out = [f"  {header}", "    " + lines[0]]
    for row, line in zip(rows, lines[1:-1], strict=True):
        style = error if row["exhausted"] else warn if row["flags"] else str
        out.append("    " + style(line))
    out.append("    " + lines[-1])
    return out + _flagged(view, warn)


def _flagged(view: Mapping[str, Any], warn: Style) -> list[str]:
    return [
        "    " + warn(f"{flag['flag']}: {flag['host']} pid {flag['pid']} {flag['message']}.")
        for flag in view["flagged"]
    ]


def fleet_lines(
    fleet: Mapping[str, Any] | None,
    settings: Any,
    heading: Style,
    warn: Style,
    error: Style,
    rates: Mapping[str, Any] | None = None,
) -> list[str]:
    """The fleet section: a heading, each alias's table, the skipped snapshots."""
    if settings is None:
        return [FLEET_HINT]
    if fleet is None:
        return []
    lines = [
        heading(f"fleet: {fleet['snapshots']} snapshot(s) in alias {settings.alias!r}")
        + f" (published every {settings.interval:g}s, kept {settings.ttl:g}s)"
    ]
    for alias, view in fleet["aliases"].items():
        found = None if rates is None else rates["aliases"].get(alias)
        lines += alias_lines(alias, view, warn, error, found)
    lines += ["  " + warn(f"skipped {line}") for line in fleet["skipped"]]
    return lines


def advice_lines(advice: Mapping[str, list[dict[str, Any]]], warn: Style, notice: Style) -> list[str]:
    """``--advise``: per alias each advice, the numbers it used and the setting to write."""
    lines = []
    for alias, found in advice.items():
        if not found:
            lines.append(f"advice for {alias}: none, the pool looks sized right for what was seen.")
            continue
        lines.append(f"advice for {alias}:")
        for item in found:
            style = warn if item["severity"] == "warning" else notice
            lines.append("  " + style(f"{item['severity']} [{item['rule']}]") + f" {item['message']}")
            evidence = ", ".join(f"{key}={value}" for key, value in item["evidence"].items())
            lines.append(f"    evidence: {evidence}")
            lines.append(f"    set: {item['setting']}")
    return lines
