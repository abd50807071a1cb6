"""The comparison and the printout of ``make django-redis-conformance``: per settings file, which tests
pass on django-redis and here, which are listed as different, which fail unexpectedly, and why."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIFFERENCES = HERE / "differences.toml"
LABEL = "django-redis-conformance"


def load_differences() -> dict[str, str]:
    differences: dict[str, str] = tomllib.loads(DIFFERENCES.read_text()).get("differences", {})
    if not all(isinstance(reason, str) and reason.strip() for reason in differences.values()):
        raise SystemExit(f"{LABEL}: every entry of {DIFFERENCES.name} needs a one-line reason")
    return differences


@dataclass
class Run:
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    interrupted: bool = False

    def with_outcome(self, outcome: str) -> set[str]:
        return {nodeid for nodeid, result in self.outcomes.items() if result["outcome"] == outcome}


def settings_free(nodeid: str, name: str) -> str:
    """``nodeid`` without the settings file in its parameters: how differences.toml names a test
    that differs under every settings file."""
    match = re.fullmatch(r"(.*)\[(.*)\]", nodeid)
    if not match:
        return nodeid
    rest = [part for part in match.group(2).split("-") if part != name]
    return f"{match.group(1)}[{'-'.join(rest)}]" if rest else match.group(1)


@dataclass
class Row:
    name: str
    run: int = 0
    passed_theirs: int = 0
    passed_ours: int = 0
    listed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)  # each unexpected failure's first line, as pytest gave it
    stale: list[str] = field(default_factory=list)
    seconds: float = 0.0
    refusal: str = ""
    note: str = ""


def compare(name: str, baseline: Run, ours: Run, differences: dict[str, str], used: set[str]) -> Row:
    """One settings file's row; prints its listed, unexpected and stale tests."""

    def entry(nodeid: str) -> str | None:
        for key in (nodeid, settings_free(nodeid, name)):
            if key in differences:
                used.add(key)
                return key
        return None

    for nodeid in [*baseline.outcomes, *ours.outcomes]:
        entry(nodeid)
    passed_theirs = baseline.with_outcome("passed")
    passed_ours = ours.with_outcome("passed")
    row = Row(name, len(baseline.outcomes), len(passed_theirs), len(passed_theirs & passed_ours))
    for nodeid in sorted(passed_theirs - passed_ours):
        key = entry(nodeid)
        if key is not None:
            row.listed.append(nodeid)
            print(f"  [{name}] listed as different: {nodeid}\n      {differences[key]}")
        else:
            row.unexpected.append(nodeid)
            result = ours.outcomes.get(nodeid, {"outcome": "not run", "message": ""})
            row.causes.append(result["message"] or result["outcome"])
            print(f"  [{name}] UNEXPECTED {result['outcome'].upper()}: {nodeid}\n      {result['message']}")
    for nodeid in sorted(passed_ours):
        if entry(nodeid) is not None:
            row.stale.append(nodeid)
            print(f"  [{name}] STALE ENTRY (passes here now, remove it from {DIFFERENCES.name}): {nodeid}")
    only_ours = sorted(passed_ours - passed_theirs)
    for nodeid in only_ours:
        print(f"  [{name}] passes here, not on django-redis: {nodeid}")
    return row


def print_table(rows: list[Row]) -> None:
    header = ("settings file", "run", "passed on django-redis", "passed here", "listed", "unexpected", "s")
    widths = [max(len(header[0]), *(len(row.name) for row in rows)), 5, 22, 11, 6, 10, 4]
    print(f"{LABEL}: per settings file")
    print(
        "  "
        + "  ".join(
            title.rjust(width) if i else title.ljust(width)
            for i, (title, width) in enumerate(zip(header, widths, strict=True))
        )
    )
    for row in rows:
        if row.refusal:
            print(
                f"  {row.name.ljust(widths[0])}  refused here on purpose"
                + ("" if not row.unexpected else " -- NOT REFUSED AS IT SHOULD BE")
            )
            continue
        cells = (
            row.run,
            row.passed_theirs,
            row.passed_ours,
            len(row.listed),
            len(row.unexpected),
            f"{row.seconds:.0f}",
        )
        print(
            "  "
            + row.name.ljust(widths[0])
            + "  "
            + "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths[1:], strict=True))
            + (f"  {row.note}" if row.note else "")
        )


def print_causes(rows: list[Row], shown: int = 25) -> None:
    """The unexpected failures grouped by their first line (numbers masked: ports, dbs, counts)."""
    causes = Counter(
        re.sub(r"\d+", "N", re.sub(r"0x[0-9a-f]+", "0x", cause))[:200] for row in rows for cause in row.causes
    )
    if not causes:
        return
    shown = min(shown, len(causes))
    print(f"{LABEL}: unexpected failures by cause ({len(causes)} distinct; the {shown} commonest)")
    for cause, count in causes.most_common(shown):
        print(f"  {count:5d}  {cause}")


def summarize(rows: list[Row], seconds: float) -> int:
    """Prints the causes, the table and the totals; the exit status."""
    print_causes(rows)
    print_table(rows)
    unexpected = sum(len(row.unexpected) for row in rows)
    stale = sum(len(row.stale) for row in rows)
    total_theirs = sum(row.passed_theirs for row in rows)
    print(
        f"{LABEL}: {sum(row.run for row in rows)} run, {total_theirs} passed on django-redis, "
        f"{sum(row.passed_ours for row in rows)} of them here, {sum(len(row.listed) for row in rows)} "
        f"listed as different, {unexpected} unexpected failures"
        + (f", {stale} stale entries" if stale else "")
        + f" ({seconds:.0f} s)"
    )
    if not total_theirs:
        print(f"{LABEL}: no test passed on django-redis itself: nothing was compared")
        return 1
    return 1 if unexpected or stale else 0
