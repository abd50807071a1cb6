"""django-redis's own test suite on PooledRedisCache: the drop-in gate (``make django-redis-conformance``).

Downloads the sdist of the django-redis version pinned in the dev extra once into ``.conformance/``
and runs its ``tests/`` once per settings file, twice each: on django-redis itself (the baseline)
and on this app's backend, with nothing changed but ``BACKEND`` and ``"django_redis_pool"`` in
``INSTALLED_APPS`` (``django_redis_gate_settings.py``: their module, imported and overridden). Each
side gets its own throwaway servers, started here: a redis-server (with the UNIX socket the
``sqlite_usock`` file wants) and, for the Sentinel files, a master, a replica and the one sentinel
django-redis's own CI runs; the two sides of a settings file run at once (their tests mostly sleep),
the settings files one after another.

A test that passes on django-redis and not here fails the gate unless ``differences.toml`` names it
with its reason; a listed test that passes here fails it too, so the list stays honest. Settings
files this backend refuses on purpose (``REFUSED``: the ShardClient) are not run here: the gate
checks that they are refused, with the advice. Arguments after ``--`` go to both pytest runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import IO, Any

from tests.support.redis_server import RedisServer
from tests.support.sdist import fetch_sdist
from tests.support.topologies import SentinelTopology

from .report import DIFFERENCES, LABEL, Row, Run, compare, load_differences, summarize

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROJECT = "django_redis"  # as its sdist's file and top folder are named
# The settings files that apply, in the order they run; each names the servers it needs.
GATED = {
    "sqlite": "redis-server",
    "sqlite_json": "redis-server",
    "sqlite_msgpack": "redis-server",
    "sqlite_gzip": "redis-server",
    "sqlite_lz4": "redis-server",
    "sqlite_zlib": "redis-server",
    "sqlite_zstd": "redis-server",
    "sqlite_usock": "redis-server",
    "sqlite_herd": "redis-server",
    "sqlite_sentinel": "sentinel",
    "sqlite_sentinel_opts": "sentinel",
}
# Settings files this backend refuses on purpose: what the refusal must say.
REFUSED = {"sqlite_sharding": "Cluster"}
# The tests that take no settings file (hash ring, serializers, connection parameters...) run once,
# with the first settings file.
UNPARAMETRIZED_WITH = "sqlite"
SERVICE_NAME = "default_service"  # the master django-redis's sentinel.conf monitors
# sqlite_sentinel's LOCATION ("redis://127.0.0.1?db=7") names the service by that host, which
# django-redis's own sentinel does not monitor: there every test of that file fails with
# MasterNotFoundError (after redis-py's retries: four minutes). The harness's sentinel monitors the
# same master under that name too, so the file tests something.
EXTRA_SERVICE_NAMES = ("127.0.0.1",)
# Seconds for one settings file (both runs at once; each takes about 25 s): then pytest is
# interrupted, and what had not run counts as not passing.
RUN_TIMEOUT = 150
INTERRUPT_GRACE = 30  # seconds pytest gets to write its outcomes once interrupted
PYTEST_RAN = (0, 1)  # all passed / some failed (2, interrupted, only when the deadline did it)


def pinned_version() -> str:
    """The django-redis version the dev extra pins (``django-redis==X``), which the venv has."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["optional-dependencies"]["dev"]:
        match = re.fullmatch(r"django-redis==([\w.]+)", requirement.replace(" ", ""))
        if match:
            pinned = match.group(1)
            installed = installed_version("django-redis")
            if installed != pinned:
                raise SystemExit(
                    f"{LABEL}: the dev extra pins django-redis {pinned}, the venv has {installed}"
                )
            return pinned
    raise SystemExit(f"{LABEL}: pyproject.toml's dev extra pins no django-redis==X")


def fetch_tests(version: str) -> Path:
    """The unpacked sdist holding django-redis's tests/ (django-redis itself comes from the venv)."""
    return fetch_sdist(LABEL, PROJECT, version, lambda path: path.startswith("tests/"), "tests/conftest.py")


def settings_files(sdist: Path) -> list[str]:
    """django-redis's settings files; every one must be gated or refused here, so a new one is seen."""
    found = sorted(
        path.stem for path in (sdist / "tests" / "settings").glob("*.py") if path.stem != "__init__"
    )
    unknown = [name for name in found if name not in GATED and name not in REFUSED]
    if unknown:
        raise SystemExit(
            f"{LABEL}: django-redis has settings files this gate does not know: {', '.join(unknown)}; "
            "add each to GATED or REFUSED in run.py"
        )
    missing = [name for name in [*GATED, *REFUSED] if name not in found]
    if missing:
        print(f"{LABEL}: not in this django-redis version (skipped): {', '.join(missing)}")
    return found


@dataclass
class Servers:
    """One side's servers: a redis-server always, a Sentinel topology from the first file that needs one."""

    stack: ExitStack
    redis: RedisServer
    sentinel: SentinelTopology | None = None

    def gate_env(self, name: str, backend: str) -> dict[str, Any]:
        if GATED.get(name) == "sentinel" and self.sentinel is None:
            # django-redis's CI: one sentinel (quorum 1) watching default_service.
            topology = SentinelTopology(SERVICE_NAME, sentinels=1, quorum=1)
            self.sentinel = self.stack.enter_context(topology)
            sentinel = topology.admin(topology.sentinel_ports[0])
            for service in EXTRA_SERVICE_NAMES:
                sentinel.execute_command(  # type: ignore[no-untyped-call]
                    "SENTINEL", "MONITOR", service, *topology.master_address(), 1
                )
        return {
            "settings": name,
            "backend": backend,
            "redis_port": self.redis.port,
            "unix_socket": str(self.redis.socket_path),
            "sentinel_port": self.sentinel.sentinel_ports[0] if self.sentinel else None,
        }

    def flush(self) -> None:
        admins = [self.redis.admin()]
        if self.sentinel is not None:
            admins.append(self.sentinel.admin(self.sentinel.master_port()))
        for admin in admins:
            admin.flushall()
            admin.close()


@contextmanager
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers(stack, stack.enter_context(RedisServer()))


def pytest_ini(sdist: Path) -> Path:
    """django-redis's pytest settings without its coverage, doctest and xdist options; also stops pytest
    from reading this project's pyproject.toml (Django settings, coverage, warnings as errors)."""
    ini = sdist / "django-redis-gate.ini"
    ini.write_text(f"[pytest]\npythonpath = {sdist / 'tests'}\nxfail_strict = true\n")
    return ini


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    outcomes_path: Path
    log_path: Path


def start_pytest(sdist: Path, name: str, backend: str, gate: dict[str, Any], extra: list[str]) -> Started:
    results = sdist / "results"
    results.mkdir(exist_ok=True)
    outcomes_path, log_path = results / f"{name}.{backend}.json", results / f"{name}.{backend}.log"
    outcomes_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "tests", "-c", str(pytest_ini(sdist)), "--rootdir", str(sdist)]
    command += ["-p", "no:cacheprovider", "-p", "no:django", "-p", "no:cov", "-rfE", "--tb=short"]
    command += ["-o", "faulthandler_timeout=120"]
    command += ["-p", "django_redis_gate_plugin", f"--django-redis-settings={name}"]
    if name == UNPARAMETRIZED_WITH:
        command += ["--django-redis-unparametrized"]
    command += ["-p", "conformance_outcomes", f"--conformance-outcomes={outcomes_path}", *extra]
    # Only the plugins' folders on the path: this project's `tests` package must not shadow theirs.
    # conformance_outcomes is redis-py's gate's recorder, shared.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent / "conformance")]),
        "DJANGO_REDIS_GATE": json.dumps(gate),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=sdist, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Started(process, log, outcomes_path, log_path)


def finish_pytest(started: Started, deadline: float) -> Run:
    process, log, outcomes_path, log_path = (
        started.process,
        started.log,
        started.outcomes_path,
        started.log_path,
    )
    interrupted = False
    try:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        interrupted = True
        print(f"{LABEL}: interrupting a run still going after {RUN_TIMEOUT} s ({log_path.name})", flush=True)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=INTERRUPT_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SystemExit(f"{LABEL}: a run did not stop when interrupted; see {log_path}") from None
    finally:
        log.close()
    ran = process.returncode in PYTEST_RAN or (interrupted and process.returncode == 2)
    if not ran or not outcomes_path.exists():
        print("\n".join(log_path.read_text().splitlines()[-40:]))
        raise SystemExit(f"{LABEL}: the tests did not run (pytest exit {process.returncode}); see {log_path}")
    return Run(json.loads(outcomes_path.read_text()), interrupted)


def check_refused(sdist: Path, name: str, gate: dict[str, Any], advice: str) -> Row:
    """Builds the settings file's caches on this backend in a fresh process: they must be refused
    (ImproperlyConfigured, or an error from the system checks) with ``advice`` in the message."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(sdist / "tests")]),
        "DJANGO_REDIS_GATE": json.dumps(gate),
        "DJANGO_SETTINGS_MODULE": "django_redis_gate_settings",
    }
    command = [sys.executable, "-m", "django_redis_gate_refusal"]
    completed = subprocess.run(command, cwd=sdist, env=env, capture_output=True, text=True, timeout=120)
    lines = completed.stdout.strip().splitlines()
    message = lines[-1] if lines else completed.stderr.strip()[-500:]
    row = Row(name, refusal=message)
    refused = completed.returncode == 0 and message.startswith("refused:")
    if refused and advice in message:
        print(f"  [{name}] refused, as it should be: {message}")
    else:
        row.unexpected.append(f"{name}: not refused with the advice '{advice}' ({message})")
        print(f"  [{name}] UNEXPECTED: this backend must refuse it, naming '{advice}': {message}")
    return row


def run_settings_file(
    sdist: Path,
    name: str,
    theirs: Servers,
    ours: Servers,
    differences: dict[str, str],
    used: set[str],
    extra: list[str],
) -> Row:
    """Both runs of one settings file, at once, each on its side's servers; its row."""
    began = time.monotonic()
    sides = ((theirs, "django-redis"), (ours, "pooled"))
    gates = [side.gate_env(name, backend) for side, backend in sides]
    for side, _ in sides:
        side.flush()
    runs = [
        start_pytest(sdist, name, backend, gate, extra)
        for (_, backend), gate in zip(sides, gates, strict=True)
    ]
    try:
        baseline, pooled = (finish_pytest(run, began + RUN_TIMEOUT) for run in runs)
    finally:
        for run in runs:  # the other side's, when one run failed to run
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()
    row = compare(name, baseline, pooled, differences, used)
    row.seconds = time.monotonic() - began
    late = [backend for (_, backend), run in zip(sides, (baseline, pooled), strict=True) if run.interrupted]
    if late:
        row.note = f"interrupted after {RUN_TIMEOUT} s: {', '.join(late)}"
    print(
        f"{LABEL}: {name}: {row.passed_ours} of the {row.passed_theirs} passing on django-redis "
        f"pass here ({row.seconds:.0f} s)",
        flush=True,
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to every pytest run (after --)")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only this settings file"
    )
    args = parser.parse_args()
    version = pinned_version()
    sdist = fetch_tests(version)
    differences = load_differences()
    names = [name for name in settings_files(sdist) if not args.only or name in args.only]
    print(f"{LABEL}: django-redis {version}'s tests on django-redis and on PooledRedisCache", flush=True)
    started = time.monotonic()
    rows: list[Row] = []
    used: set[str] = set()
    with servers() as theirs, servers() as ours:
        rows += [
            run_settings_file(sdist, name, theirs, ours, differences, used, args.pytest_args)
            for name in GATED
            if name in names
        ]
        rows += [
            check_refused(sdist, name, ours.gate_env(name, "pooled"), advice)
            for name, advice in REFUSED.items()
            if name in names
        ]
    skipped = [name for name in [*GATED, *REFUSED] if name not in names]
    for key in sorted(set(differences) - used):
        if not any(key.endswith(f"[{name}]") for name in skipped):  # its file was not run (--only)
            print(f"  {DIFFERENCES.name} names no test of django-redis {version} (entry ignored): {key}")
    return summarize(rows, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
