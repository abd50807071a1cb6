"""Django's own cache tests on PooledRedisCache: the backend's gate (``make cache-conformance``).

Downloads the sdist of the installed Django once into ``.conformance/``, extracts its
``tests/cache/``, starts a throwaway redis-server, and runs the classes of ``django_cache_tests.py``
(``RedisCacheTests`` with all of ``BaseCacheTests``, and the middleware and ``cache_page`` classes)
on this backend with Django's test runner. Every test must pass unless ``not_applying.toml`` lists
it with its reason; a listed test that passes fails the run too, so the list stays honest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import django

from tests.support.redis_server import RedisServer
from tests.support.sdist import fetch_sdist

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".conformance"
NOT_APPLYING = HERE / "not_applying.toml"
RUN_TIMEOUT = 600  # seconds; the run takes well under a minute


def fetch_django_tests(version: str) -> Path:
    """The folder holding Django's ``tests/cache`` package, from its sdist; Django comes from the venv."""
    sdist = fetch_sdist(
        "cache-conformance",
        "django",
        version,
        lambda path: path.startswith("tests/cache/"),
        "tests/cache/tests.py",
    )
    return sdist / "tests"


def load_not_applying() -> dict[str, str]:
    entries = tomllib.loads(NOT_APPLYING.read_text()).get("not_applying", {})
    if not all(isinstance(reason, str) and reason.strip() for reason in entries.values()):
        raise SystemExit(f"cache-conformance: every entry of {NOT_APPLYING.name} needs a one-line reason")
    return entries


def run_tests(django_tests: Path, redis_url: str) -> dict[str, dict[str, str]]:
    outcomes_path = django_tests.parent / "outcomes.json"
    log = django_tests.parent / "run.log"
    outcomes_path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(django_tests)]),
        "DJANGO_SETTINGS_MODULE": "tests.cache_conformance.settings",
        "DRP_CACHE_GATE_URL": redis_url,
    }
    command = [sys.executable, "-W", "ignore", "-m", "tests.cache_conformance.runner", str(outcomes_path)]
    with log.open("w") as out:
        try:
            subprocess.run(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"cache-conformance: the run took over {RUN_TIMEOUT} s; see {log}") from None
    if not outcomes_path.exists():
        print("\n".join(log.read_text().splitlines()[-40:]))
        raise SystemExit(f"cache-conformance: the tests did not run; see {log}")
    outcomes: dict[str, dict[str, str]] = json.loads(outcomes_path.read_text())
    return outcomes


def compare(outcomes: dict[str, dict[str, str]], not_applying: dict[str, str]) -> int:
    """Print the result; the number of problems (unexpected failures and stale entries)."""
    passed = sorted(name for name, result in outcomes.items() if result["outcome"] == "passed")
    failing = sorted(name for name, result in outcomes.items() if result["outcome"] != "passed")
    documented = [name for name in failing if name in not_applying]
    unexpected = [name for name in failing if name not in not_applying]
    stale = sorted(name for name in not_applying if name in passed)
    unknown = sorted(name for name in not_applying if name not in outcomes)
    for name in documented:
        print(f"  does not apply: {name} ({outcomes[name]['outcome']})\n      {not_applying[name]}")
    for name in unexpected:
        result = outcomes[name]
        print(f"  UNEXPECTED {result['outcome'].upper()}: {name}\n      {result['message']}")
    for name in stale:
        print(f"  STALE ENTRY (passes now, remove it from {NOT_APPLYING.name}): {name}")
    for name in unknown:
        print(f"  not in this Django version (entry ignored): {name}")
    by_class = Counter(name.split(".")[0] for name in outcomes)
    print("cache-conformance: tests per class: " + ", ".join(f"{c} {n}" for c, n in sorted(by_class.items())))
    print(
        f"cache-conformance: {len(outcomes)} run, {len(passed)} passed, {len(documented)} documented as not "
        f"applying, {len(unexpected)} unexpected failures"
        + (f", {len(stale)} stale entries" if stale else "")
    )
    if not passed:
        print("cache-conformance: no test passed: nothing was checked")
        return 1
    return len(unexpected) + len(stale)


def main() -> int:
    version = django.__version__
    django_tests = fetch_django_tests(version)
    not_applying = load_not_applying()
    print(f"cache-conformance: Django {version}'s tests/cache/tests.py on PooledRedisCache", flush=True)
    started = time.monotonic()
    with RedisServer() as server:
        outcomes = run_tests(django_tests, server.url)
    print(f"cache-conformance: ran in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if compare(outcomes, not_applying) else 0


if __name__ == "__main__":
    sys.exit(main())
