"""The fleet view end to end: gunicorn with 3 sync workers publishing into a real redis-server, read
by ``redis_pool_status`` run as a process of its own; a killed worker; Redis restarted under the
publishers. The site is tests/support/gunicorn_site/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from django_redis_pool._conf.fleet import FleetSettings
from django_redis_pool._fleet.store import process_key, read_fleet
from tests.conftest import NO_SERVER, WHAT_TO_DO, skip_or_fail
from tests.support.redis_server import RedisServer, free_port, redis_server_binary
from tests.support.waiting import eventually as _eventually

pytestmark = [pytest.mark.slow, pytest.mark.real_redis]

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
MAX_CONNECTIONS = 2
POOL_TIMEOUT = 0.5
INTERVAL = 0.3
FLEET = FleetSettings(alias="default", interval=INTERVAL, namespace="fleet_e2e")
PUBLISHER_THREAD = "django_redis_pool fleet"


def eventually(condition: Callable[[], Any], within: float = 30.0) -> Any:
    return _eventually(condition, within, every=0.05)


def children_of(parent: int) -> set[int]:
    """The pids whose parent is ``parent``, from /proc (gunicorn's workers of its master)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.add(int(entry.name))
    return found


class Site:
    """gunicorn serving tests/support/gunicorn_site with ``WORKERS`` sync workers, and the same settings
    for a ``redis_pool_status`` run beside it."""

    def __init__(self, server: RedisServer, log: Path) -> None:
        self.server = server
        self.port = free_port()
        self.log = log
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.support.gunicorn_site.settings",
            PYTHONPATH=str(ROOT),
            GUNICORN_SITE_REDIS_URL=server.url,
            GUNICORN_SITE_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
            GUNICORN_SITE_POOL_TIMEOUT=str(POOL_TIMEOUT),
            GUNICORN_SITE_INTERVAL=str(INTERVAL),
            GUNICORN_SITE_NAMESPACE=FLEET.namespace,
        )
        # gunicorn's own script, as a deployment runs it (`python -m gunicorn` is a role of its own).
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        command = [gunicorn, "tests.support.gunicorn_site.wsgi:application"]
        options = ["--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS), "--worker-class", "sync"]
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, *options, "--graceful-timeout", "5", "--log-level", "warning"],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        assert eventually(lambda: len(self.workers()) == WORKERS and self.answers()), self.log.read_text()

    def workers(self) -> set[int]:
        return children_of(self.process.pid)

    def get(self, path: str, **query: object) -> dict[str, Any]:
        arguments = "&".join(f"{k}={v}" for k, v in query.items())
        url = f"http://127.0.0.1:{self.port}{path}" + (f"?{arguments}" if arguments else "")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def answers(self) -> bool:
        try:
            return isinstance(self.get("/pid/")["pid"], int)
        except OSError:
            return False

    def every_worker(self, path: str, workers: set[int]) -> dict[int, dict[str, Any]]:
        """One answer of ``path`` from each of ``workers``: rounds of concurrent requests that keep
        the sync workers busy (``hold``), so each round spreads over them, until each has answered."""
        seen: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(max_workers=2 * WORKERS) as requests:
            while not workers <= seen.keys() and time.monotonic() < deadline:
                for answer in requests.map(lambda _: self.get(path, hold=0.2), range(2 * WORKERS)):
                    seen[answer["pid"]] = answer
        assert workers <= seen.keys()
        return {pid: seen[pid] for pid in workers}

    def snapshots(self) -> dict[int, dict[str, Any]]:
        client = self.server.admin()
        try:
            read = read_fleet(client, FLEET, time.time())
        finally:
            client.close()
        assert read.skipped == []
        return {int(s["pid"]): s for s in read.snapshots}

    def status(self, *options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "django", "redis_pool_status", *options]
        return subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    if redis_server_binary() is None:
        skip_or_fail(f"{NO_SERVER}, so the fleet end-to-end tests cannot run: {WHAT_TO_DO}")
    with RedisServer() as server:
        running = Site(server, tmp_path / "gunicorn.log")
        try:
            yield running
        finally:
            running.stop()


def pool_stats(snapshot: dict[str, Any]) -> dict[str, Any]:
    [pool] = snapshot["pools"]
    assert (pool["alias"], pool["driver"]) == ("default", "sync")
    stats: dict[str, Any] = pool["stats"]
    return stats


def published_by(site: Site, workers: set[int]) -> dict[int, dict[str, Any]] | None:
    found = site.snapshots()
    return found if set(found) == workers else None


def test_status_from_another_process_shows_the_worker_that_exhausted_its_pool(site: Site) -> None:
    workers = site.workers()
    site.every_worker("/get/", workers)
    answer = site.get("/exhaust/", waiters=MAX_CONNECTIONS, exhausted=2)
    busy = answer["pid"]
    assert answer["outcomes"] == ["exhausted", "exhausted", "handed", "handed"]
    others = workers - {busy}

    # The snapshots as published (the status command's own process publishes none).
    snapshots = eventually(
        lambda: (found := published_by(site, workers)) and pool_stats(found[busy])["exhausted"] and found
    )
    assert snapshots is not None
    assert set(snapshots) == workers
    stats = pool_stats(snapshots[busy])
    assert (stats["waits"], stats["exhausted"], stats["peak_in_use"]) == (4, 2, MAX_CONNECTIONS)
    assert stats["wait_ms_max"] >= POOL_TIMEOUT * 1000
    for pid in others:
        other = pool_stats(snapshots[pid])
        assert (other["waits"], other["exhausted"], other["peak_in_use"]) == (0, 0, 1)
        assert other["checkouts"] >= 1

    finished = site.status("--format", "json", "--advise")
    assert finished.returncode == 0, finished.stderr
    document = json.loads(finished.stdout)
    fleet = document["fleet"]["aliases"]["default"]
    rows = {row["pid"]: row for row in fleet["processes"]}
    assert set(rows) == workers
    assert (rows[busy]["waits"], rows[busy]["exhausted"], rows[busy]["max_connections"]) == (4, 2, 2)
    assert rows[busy]["wait_ms_p99"] >= POOL_TIMEOUT * 1000
    assert [(rows[pid]["waits"], rows[pid]["exhausted"]) for pid in sorted(others)] == [(0, 0), (0, 0)]
    assert {row["role"] for row in rows.values()} == {"gunicorn"}
    totals = fleet["totals"]
    assert (totals["processes"], totals["waits"], totals["exhausted"]) == (WORKERS, 4, 2)
    assert totals["max_connections"] == WORKERS * MAX_CONNECTIONS
    assert fleet["flagged"] == []
    [raise_it] = [a for a in document["advice"]["default"] if a["rule"] == "raise_max_connections"]
    assert raise_it["setting"] == "REDIS_POOL['default']['MAX_CONNECTIONS'] = 3"
    assert raise_it["evidence"]["processes_queueing"] == [f"{rows[busy]['host']}:{busy}"]
    assert raise_it["evidence"]["exhausted"] == 2

    text = site.status("--advise")
    assert text.returncode == 0, text.stderr
    assert "REDIS_POOL['default']['MAX_CONNECTIONS'] = 3" in text.stdout


def test_a_killed_worker_disappears_and_its_replacement_publishes(site: Site) -> None:
    workers = site.workers()
    site.every_worker("/get/", workers)
    published = eventually(lambda: published_by(site, workers))
    assert published is not None
    victim = min(workers)
    admin = site.server.admin()
    # Each publish sets the snapshot to expire in 3 intervals; once dead, nobody sets it again.
    assert 0 < admin.pttl(process_key(FLEET, published[victim])) <= FLEET.ttl * 1000
    admin.close()
    os.kill(victim, signal.SIGKILL)
    # No clean exit removed it: the snapshot goes when its TTL runs out.
    assert eventually(lambda: victim not in site.snapshots()) is True

    def replacement() -> set[int] | None:
        now = site.workers()
        return now if len(now) == WORKERS and victim not in now else None

    replaced = eventually(replacement)
    assert replaced is not None
    [newcomer] = replaced - workers
    site.every_worker("/get/", replaced)
    assert eventually(lambda: published_by(site, replaced)) is not None
    assert newcomer in site.snapshots()


def test_redis_restarted_under_the_publishers_loses_no_request_and_strands_no_thread(site: Site) -> None:
    workers = site.workers()
    site.every_worker("/get/", workers)
    assert eventually(lambda: published_by(site, workers)) is not None

    site.server.stop(remove_dir=False)
    answered: list[int] = []
    outage_ends = time.monotonic() + 6 * INTERVAL  # long enough for every publisher to fail
    with ThreadPoolExecutor(max_workers=WORKERS) as requests:
        while time.monotonic() < outage_ends:
            answered += [a["pid"] for a in requests.map(lambda _: site.get("/pid/"), range(WORKERS))]
    assert set(answered) <= workers
    assert len(answered) >= WORKERS  # every request answered (site.get asserts each one's 200)
    site.server.restart()

    # The restarted server is empty: a snapshot there is one published since.
    assert eventually(lambda: published_by(site, workers)) is not None
    threads = site.every_worker("/threads/", workers)
    for answer in threads.values():
        assert answer["threads"].count(PUBLISHER_THREAD) == 1
    log = site.log.read_text()
    assert log.count("cannot publish this process's pool snapshot") == WORKERS, log
    assert log.count("publishing pool snapshots to 'default' again") == WORKERS, log
