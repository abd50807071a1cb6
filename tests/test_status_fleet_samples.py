"""docs/status.md's fleet samples (the table, a --watch frame, --advise) come from a real run: two worker
processes publishing into the suite's own redis-server, one of which exhausted its pool, and a third
holding pooled connections without publishing. See tests/test_docs_samples.py for the mechanism."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tests.docs_examples import on_test_server
from tests.support.docs import DOCS, ROOT, named_block
from tests.support.fleet_worker import CALLS
from tests.support.internals import parse_redis_pool
from tests.support.redis_server import RedisServer
from tests.test_docs_samples import check_sample

PAGE = DOCS / "status.md"


def fleet_settings(port: int) -> dict[str, Any]:
    """REDIS_POOL and REDIS_POOL_FLEET of the page's sample-config block, on the test server."""
    namespace: dict[str, Any] = {}
    exec(compile(named_block(PAGE, "status-fleet", "sample-config").body, str(PAGE), "exec"), namespace)
    parse_redis_pool(namespace["REDIS_POOL"])
    return {
        "REDIS_POOL": on_test_server(namespace["REDIS_POOL"], port),
        "REDIS_POOL_FLEET": namespace["REDIS_POOL_FLEET"],
    }


def started(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.fixture
def fleet_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def workers(fleet_server: RedisServer) -> Iterator[list[int]]:
    """A busy and a calm worker publishing, and a holder that publishes nothing: their pids."""
    configured = json.dumps(fleet_settings(fleet_server.port))
    worker = [sys.executable, "-m", "tests.support.fleet_worker", configured]
    processes = [
        started([*worker, "busy"]),
        started([*worker, "calm"]),
        started([sys.executable, "-m", "tests.support.holder", fleet_server.url, "2"]),
    ]
    try:
        pids = []
        for process in processes:
            assert process.stdout is not None
            pids.append(int(process.stdout.readline()))
        yield pids
    finally:
        for process in processes:
            process.communicate(timeout=30)


def normalise(text: str, pids: list[int] | None = None) -> list[str]:
    """What changes between runs: pids, the host name, ages, wait times, the clock."""
    lines = []
    for line in text.strip("\n").splitlines():
        line = re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", line)
        line = re.sub(r"\b\d+s\b", "Ns", line)  # snapshot ages
        line = re.sub(r"\b\d+\.\d+\b", "F", line)  # wait milliseconds
        line = re.sub(r"(pid |:)\d{2,}\b", r"\1PID", line)
        line = re.sub(r"^(\s+)\S+(\s+)\d+(\s+)(fleet_worker\.py)", r"\1HOST\2PID\3\4", line)
        line = re.sub(r"(no_snapshot: )\S+", r"\1HOST", line)
        line = re.sub(r"'[^':]+:PID'", "'HOST:PID'", line)
        lines.append(" ".join(line.split()))
    return lines


@pytest.mark.slow  # three processes of their own (seconds)
def test_fleet_samples_match_a_real_run_whose_json_shows_the_exhausted_worker(
    fleet_server: RedisServer, settings: Any, workers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = fleet_settings(fleet_server.port)
    settings.REDIS_POOL = configured["REDIS_POOL"]
    settings.REDIS_POOL_FLEET = configured["REDIS_POOL_FLEET"]
    text, advised, watched = StringIO(), StringIO(), StringIO()
    call_command("redis_pool_status", stdout=text)
    call_command("redis_pool_status", "--advise", stdout=advised)
    call_command("redis_pool_status", "--watch", "1.5", "--frames", "2", stdout=watched)
    fleet = text.getvalue()[text.getvalue().index("fleet: ") :]
    advice = advised.getvalue()[advised.getvalue().index("advice for ") :]
    frame = watched.getvalue().split("\n\n")[-1]
    check_sample(PAGE, "status-fleet", fleet, normalise, fleet_server.port)
    check_sample(PAGE, "status-advise", advice, normalise, fleet_server.port)
    check_sample(PAGE, "status-watch", frame, normalise, fleet_server.port)

    out = StringIO()
    call_command("redis_pool_status", "--advise", "--format", "json", stdout=out)
    document = json.loads(out.getvalue())
    busy, calm, silent = workers
    view = document["fleet"]["aliases"]["default"]
    rows = {row["pid"]: row for row in view["processes"]}
    assert sorted(rows) == sorted([busy, calm])
    assert (rows[busy]["waits"], rows[busy]["exhausted"], rows[busy]["largest_pool_peak"]) == (3, 3, 4)
    assert (rows[calm]["waits"], rows[calm]["exhausted"], rows[calm]["largest_pool_peak"]) == (0, 0, 1)
    assert rows[busy]["checkouts"] == CALLS + 4
    assert (view["totals"]["processes"], view["totals"]["exhausted"]) == (2, 3)
    assert [(flag["pid"], flag["flag"]) for flag in view["flagged"]] == [(silent, "no_snapshot")]
    advice = document["advice"]["default"]
    assert [(item["rule"], item["setting"]) for item in advice] == [
        ("raise_max_connections", "REDIS_POOL['default']['MAX_CONNECTIONS'] = 6")
    ]
