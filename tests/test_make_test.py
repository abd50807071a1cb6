"""`make test` on a fresh machine: .ci/test-tools installs redis-server and openssl where it can."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis_server import INSTALL_HINT

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "test-tools"
# The same hint as the pytest skip message's, so that one fix reaches both.
SKIPPED = f"== missing: redis-server openssl; the real-server tests will be skipped: {INSTALL_HINT}"


def fake_bin(tmp_path: Path, uid: int, tools: tuple[str, ...], apt_get: str | None = "exit 0") -> Path:
    """A PATH holding only a fake `id`, the given tools, and an apt-get that logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"id": f"echo {uid}", **dict.fromkeys(tools, "exit 0")}
    if apt_get is not None:
        log = tmp_path / "apt-get.log"
        scripts["apt-get"] = f'echo "$DEBIAN_FRONTEND $*" >> {log}\n{apt_get}'
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


def run_script(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(SCRIPT)], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30
    )


def apt_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "apt-get.log"
    return log.read_text().splitlines() if log.exists() else []


def test_root_with_apt_get_installs_both(tmp_path: Path) -> None:
    result = run_script(fake_bin(tmp_path, uid=0, tools=()))
    assert (result.returncode, result.stdout) == (
        0,
        "== installing redis-server and openssl for the real-server tests (missing: redis-server openssl)\n",
    )
    assert apt_calls(tmp_path) == [" update -qq", "noninteractive install -y -qq redis-server openssl"]


def test_root_with_apt_get_installs_when_only_openssl_is_missing(tmp_path: Path) -> None:
    result = run_script(fake_bin(tmp_path, uid=0, tools=("redis-server",)))
    assert "(missing: openssl)" in result.stdout
    assert apt_calls(tmp_path)[-1] == "noninteractive install -y -qq redis-server openssl"


def test_nothing_happens_when_both_are_there(tmp_path: Path) -> None:
    result = run_script(fake_bin(tmp_path, uid=0, tools=("redis-server", "openssl")))
    assert (result.returncode, result.stdout, apt_calls(tmp_path)) == (0, "", [])


@pytest.mark.parametrize(("uid", "apt_get"), [(1000, "exit 0"), (0, None)])
def test_elsewhere_it_says_what_is_missing_and_carries_on(
    tmp_path: Path, uid: int, apt_get: str | None
) -> None:
    result = run_script(fake_bin(tmp_path, uid=uid, tools=(), apt_get=apt_get))
    assert (result.returncode, result.stdout, apt_calls(tmp_path)) == (0, SKIPPED + "\n", [])


def test_a_failed_install_does_not_stop_make_test(tmp_path: Path) -> None:
    result = run_script(fake_bin(tmp_path, uid=0, tools=(), apt_get="exit 100"))
    assert result.returncode == 0
    assert (
        result.stdout.splitlines()[-1] == "== could not install them: the real-server tests will be skipped"
    )


def test_make_test_runs_it_before_pytest() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert recipe.group(1).splitlines() == ["\t@sh .ci/test-tools", "\t$(BIN)/python -m pytest"]


def test_readme_names_what_the_skip_hint_names() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in re.findall(r"`([^`]+)`", INSTALL_HINT):
        assert command in readme
    assert "redis-server` and `openssl`" in readme


@pytest.mark.slow
def test_without_the_tools_the_summary_says_how_many_real_server_tests_were_skipped_and_why() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = os.path.dirname(sys.executable)  # no redis-server, no openssl
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov", "tests/test_stats.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"^(\d+) real-server tests skipped: (.*)$", result.stdout, re.MULTILINE)
    totals = re.search(r"(\d+) passed, (\d+) skipped", result.stdout)
    assert summary is not None, result.stdout
    assert totals is not None, result.stdout
    assert int(summary.group(1)) == int(totals.group(2)) > 0
    assert summary.group(2) == (
        "redis-server or openssl is not on PATH; install them with "
        "`apt-get install redis-server openssl` (Debian/Ubuntu) or `brew install redis openssl` "
        "(`make test` installs them itself when run as root where apt-get exists)."
    )
