"""Runs the gate's classes with Django's test runner; writes each test's outcome as JSON.

``python -m tests.cache_conformance.runner OUTCOMES.json`` (started by ``run.py`` with the settings,
the path and the server's URL in its environment).
"""

from __future__ import annotations

import json
import sys
import unittest
from typing import Any, ClassVar

import django


class RecordingResult(unittest.TextTestResult):
    """A TextTestResult that also keeps every test's outcome, by ``Class.test_name``."""

    outcomes: ClassVar[dict[str, dict[str, str]]] = {}

    def _record(self, test: Any, outcome: str, message: str = "") -> None:
        name = f"{type(test).__name__}.{getattr(test, '_testMethodName', str(test))}"
        self.outcomes[name] = {"outcome": outcome, "message": message}

    def addSuccess(self, test: Any) -> None:  # unittest's camelCase names
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._record(test, "failed", self._exc_info_to_string(err, test).strip().splitlines()[-1])

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test).strip().splitlines()[-1])

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "expected failure")

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            message = self._exc_info_to_string(err, test).strip().splitlines()[-1]
            self._record(test, "failed", f"{subtest}: {message}")


def main(outcomes_path: str) -> int:
    django.setup()
    from django.test.runner import DiscoverRunner

    from tests.cache_conformance.django_cache_tests import GATE_CLASSES

    runner = DiscoverRunner(verbosity=1, interactive=False)
    runner.setup_test_environment()
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in GATE_CLASSES)
    databases = runner.setup_databases()
    try:
        unittest.TextTestRunner(resultclass=RecordingResult, verbosity=1).run(suite)
    finally:
        runner.teardown_databases(databases)
        runner.teardown_test_environment()
    with open(outcomes_path, "w") as out:
        json.dump(RecordingResult.outcomes, out, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
