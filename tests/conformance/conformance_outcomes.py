"""pytest plugin: each test's outcome (passed, failed, error, skipped...) written to a JSON file.

Loaded with ``-p conformance_outcomes --conformance-outcomes=PATH`` (its folder on PYTHONPATH).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# A test reports up to three phases (setup, call, teardown): the worst one is its outcome.
_RANK = {"passed": 0, "skipped": 1, "xfailed": 1, "xpassed": 2, "failed": 3, "error": 4}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--conformance-outcomes", metavar="PATH", help="write each test's outcome there (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--conformance-outcomes")
    if path:
        config.pluginmanager.register(OutcomeRecorder(Path(path)), "conformance-outcome-recorder")


def _outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return report.outcome


def _first_line_of_failure(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return str(crash.message).splitlines()[0]
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        return str(report.longrepr[2])
    lines = str(report.longrepr or "").strip().splitlines()
    return lines[-1] if lines else ""


class OutcomeRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.outcomes: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = _outcome(report)
        previous = self.outcomes.get(report.nodeid)
        if previous is None or _RANK[outcome] > _RANK[previous["outcome"]]:
            message = "" if outcome == "passed" else _first_line_of_failure(report)
            self.outcomes[report.nodeid] = {"outcome": outcome, "message": message}

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(self.outcomes, indent=1, sort_keys=True) + "\n")
