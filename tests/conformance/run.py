"""redis-py's own pool and connection tests, run on redis-py's pool classes and on this project's.

``python -m tests.conformance.run`` (``make conformance``): downloads the sdist of the installed
redis-py once into ``.conformance/``, starts a throwaway redis-server, runs the test files below
twice (baseline: unmodified; then with ``-p conformance_pools``, which puts the project's classes
wherever redis-py's were) and compares. A test that passes on redis-py's classes and not on ours
is a conformance failure unless ``differences.toml`` lists it with its reason; a listed test that
passes on ours is a failure too, so the list stays honest. Arguments after ``--`` go to pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tests.support.redis_server import RedisServer
from tests.support.sdist import fetch_sdist

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".conformance"
DIFFERENCES = HERE / "differences.toml"
TEST_FILES = ("tests/test_connection_pool.py", "tests/test_multiprocessing.py", "tests/test_connection.py")
# What redis-py's own CI deselects against a single standalone server without modules or TLS.
MARKERS = "not onlycluster and not redismod and not ssl"
PYTEST_TIMEOUT = 600  # seconds for one run; the two take well under a minute each
# 0: all passed; 1: some failed (the baseline has a few that need localhost:6379 itself).
PYTEST_RAN = (0, 1)


def fetch_redis_tests(version: str) -> Path:
    """redis-py's tests/ (and its pytest config) from its sdist; redis-py itself comes from the venv."""
    return fetch_sdist(
        "conformance",
        "redis",
        version,
        lambda path: path.startswith("tests/") or path == "pyproject.toml",
        "tests/conftest.py",
    )


# redis-py 5.x kept its pytest settings in tox.ini, which its sdist does not ship: its markers.
REDIS_PY_5_INI = """\
[pytest]
addopts = -s
markers =
    redismod: run only the redis module tests
    pipeline: pipeline tests
    onlycluster: marks tests to be run only with cluster mode redis
    onlynoncluster: marks tests to be run only with standalone redis
    ssl: marker for only the ssl tests
    asyncio: marker for async tests
    replica: replica tests
    experimental: run only experimental tests
"""


def pytest_config(sdist: Path) -> Path:
    """redis-py's pytest settings: its pyproject.toml where it has them (8.x), else 5.x's tox.ini ones.

    Either way the file stops pytest from walking up to this project's pyproject.toml, whose
    settings (Django, coverage, warnings as errors) are not redis-py's.
    """
    pyproject = sdist / "pyproject.toml"
    if pyproject.exists() and "pytest" in tomllib.loads(pyproject.read_text()).get("tool", {}):
        return pyproject
    ini = sdist / "pytest.ini"
    ini.write_text(REDIS_PY_5_INI)
    return ini


def server_config() -> tuple[str, ...]:
    # Several pool tests make the server answer errors with DEBUG ERROR, off by default since 7.0.
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+)", version)
    return ("enable-debug-command yes",) if match and int(match.group(1)) >= 7 else ()


@dataclass
class Run:
    name: str
    outcomes: dict[str, dict[str, Any]]

    def with_outcome(self, outcome: str) -> set[str]:
        return {nodeid for nodeid, result in self.outcomes.items() if result["outcome"] == outcome}


def run_pytest(name: str, sdist: Path, redis_url: str, plugins: list[str], extra: list[str]) -> Run:
    results = sdist / "results"
    results.mkdir(exist_ok=True)
    outcomes_path, log = results / f"{name}.json", results / f"{name}.log"
    outcomes_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", *TEST_FILES]
    command += ["-c", str(pytest_config(sdist)), "--rootdir", str(sdist), "-m", MARKERS]
    command += [f"--redis-url={redis_url}", "-rfE", "-o", "faulthandler_timeout=60"]
    command += ["-p", "no:cacheprovider", "-p", "no:django", "-p", "no:cov"]
    command += ["-p", "conformance_outcomes", f"--conformance-outcomes={outcomes_path}"]
    for plugin in plugins:
        command += ["-p", plugin]
    command += extra
    # Only the plugins' folder on the path: this project's `tests` package must not shadow redis-py's.
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    started = time.monotonic()
    with log.open("w") as out:
        try:
            completed = subprocess.run(
                command, cwd=sdist, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=PYTEST_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"conformance: the {name} run took over {PYTEST_TIMEOUT} s; see {log}") from None
    lines = log.read_text().strip().splitlines()
    summary = lines[-1].strip("= ") if lines else "(no output)"
    if completed.returncode not in PYTEST_RAN or not outcomes_path.exists():
        print("\n".join(lines[-40:]))
        raise SystemExit(
            f"conformance: the {name} run did not run (pytest exit {completed.returncode}); see {log}"
        )
    header = [line for line in lines[:40] if line.startswith("conformance:")]
    for line in header:
        print(f"  {line}")
    print(f"conformance: {name} run ({time.monotonic() - started:.0f} s): {summary}", flush=True)
    return Run(name, json.loads(outcomes_path.read_text()))


def load_differences(version: str = redis.__version__) -> dict[str, str]:
    """The differences for every redis-py, and those of this redis-py's major version
    (``[differences_by_major."5"]``: tests whose expectation changed between majors)."""
    document = tomllib.loads(DIFFERENCES.read_text())
    differences = dict(document.get("differences", {}))
    differences.update(document.get("differences_by_major", {}).get(version.split(".")[0], {}))
    if not all(isinstance(reason, str) and reason.strip() for reason in differences.values()):
        raise SystemExit(f"conformance: every entry of {DIFFERENCES.name} needs a one-line reason")
    return differences


def compare(baseline: Run, ours: Run, differences: dict[str, str], version: str) -> int:
    """Print the comparison; the number of problems (unexpected failures and stale differences)."""
    passed_on_theirs = baseline.with_outcome("passed")
    passed_on_ours = passed_on_theirs & ours.with_outcome("passed")
    failing = sorted(passed_on_theirs - passed_on_ours)
    documented = [nodeid for nodeid in failing if nodeid in differences]
    unexpected = [nodeid for nodeid in failing if nodeid not in differences]
    stale = sorted(nodeid for nodeid in differences if nodeid in passed_on_ours)
    not_here = sorted(nodeid for nodeid in differences if nodeid not in passed_on_theirs)
    only_ours = sorted(ours.with_outcome("passed") - passed_on_theirs)

    def outcome(nodeid: str) -> str:
        result = ours.outcomes.get(nodeid, {"outcome": "not run", "message": ""})
        return f"{result['outcome']}: {result['message']}" if result["message"] else result["outcome"]

    for nodeid in documented:
        print(f"  documented difference: {nodeid}\n      {differences[nodeid]}")
    for nodeid in unexpected:
        print(f"  UNEXPECTED FAILURE: {nodeid}\n      {outcome(nodeid)}")
    for nodeid in stale:
        print(f"  STALE DIFFERENCE (passes on ours now, remove it from {DIFFERENCES.name}): {nodeid}")
    for nodeid in not_here:
        result = baseline.outcomes.get(nodeid)
        why = f"{result['outcome']} on redis-py's classes" if result else "not among its tests"
        print(f"  not applicable on redis-py {version} ({why}): {nodeid}")
    for nodeid in only_ours:
        print(f"  passes only on ours: {nodeid}")
    print(
        f"conformance: {len(passed_on_theirs)} passed on redis-py's classes, {len(passed_on_ours)} of them "
        f"pass on ours, {len(documented)} documented differences, {len(unexpected)} unexpected failures"
        + (f", {len(stale)} stale differences" if stale else "")
    )
    if not passed_on_theirs:
        print("conformance: no test passed on redis-py's own classes: nothing was compared")
        return 1
    return len(unexpected) + len(stale)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to both pytest runs (after --)")
    args = parser.parse_args()
    version = redis.__version__
    sdist = fetch_redis_tests(version)
    differences = load_differences()
    print(f"conformance: redis-py {version}'s {', '.join(TEST_FILES)} (-m '{MARKERS}')", flush=True)
    with RedisServer(extra_config=server_config()) as server:
        redis_url = f"redis://127.0.0.1:{server.port}/9"
        baseline = run_pytest("baseline", sdist, redis_url, [], args.pytest_args)
        ours = run_pytest("project", sdist, redis_url, ["conformance_pools"], args.pytest_args)
    return 1 if compare(baseline, ours, differences, version) else 0


if __name__ == "__main__":
    sys.exit(main())
