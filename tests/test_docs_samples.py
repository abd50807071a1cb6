"""The sample outputs in the docs come from real runs, and this keeps them true.

Each test runs what a sample shows (``redis_pool_status``, ``manage.py check``, the health view)
against the suite's redis-server, with the settings of the page's ``<!-- sample-config: NAME -->``
block, and compares with the page's ``<!-- sample: NAME -->`` block after normalising what changes
from run to run: process ids, host names, the port, timings, the server's version and client counts.

``DOCS_SAMPLES=write python -m pytest tests/test_docs_samples.py`` writes the fresh output into the
pages instead (never under CI); review the diff and commit it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import RequestFactory

from django_redis_pool.health import HealthView
from tests.docs_examples import on_test_server
from tests.support.docs import DOCS, EXAMPLE_ADDRESS, ROOT, named_block, replace_block
from tests.support.internals import parse_redis_pool
from tests.support.redis_server import RedisServer

WRITE = os.environ.get("DOCS_SAMPLES") == "write"


def sample_settings(page: Path, name: str) -> dict[str, Any]:
    """The REDIS_POOL of the page's sample-config block, run as the page shows it."""
    namespace: dict[str, Any] = {}
    exec(compile(named_block(page, name, "sample-config").body, str(page), "exec"), namespace)
    parse_redis_pool(namespace["REDIS_POOL"])
    return namespace["REDIS_POOL"]  # type: ignore[no-any-return]


def check_sample(page: Path, name: str, output: str, normalise: Callable[[str], Any], port: int) -> None:
    """Compare the run's output with the page's sample (or, with DOCS_SAMPLES=write, replace it)."""
    block = named_block(page, name)
    if WRITE:
        if os.environ.get("CI"):
            pytest.fail("DOCS_SAMPLES=write rewrites the docs: never under CI.")
        replace_block(block, output.replace(f"127.0.0.1:{port}", EXAMPLE_ADDRESS).rstrip("\n"))
        return
    assert normalise(block.body) == normalise(output), (
        f"{page.name}'s sample {name!r} no longer matches a real run; the run printed:\n{output}\n"
        "Rewrite the samples with DOCS_SAMPLES=write python -m pytest tests/test_docs_samples.py."
    )


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of the sample's own: no connection another test left open shows in its listing."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def holders(own_server: RedisServer) -> Iterator[None]:
    """Two other processes holding 4 and 2 pooled connections, as two workers would."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.holder", own_server.url, str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for count in (4, 2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert int(process.stdout.readline()) == process.pid
        yield
    finally:
        for process in processes:
            process.communicate(timeout=30)


_ROW = re.compile(r"^\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)-(\d+)\s+(\d+)(\s+\(this process\))?$")


def normalise_status_text(text: str) -> list[str]:
    lines = []
    rows = []
    for line in text.strip("\n").splitlines():
        row = _ROW.match(line)
        if row:
            rows.append(f"HOST PID {row[3]} N-N N{row[7] or ''}")
            continue
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
        line = re.sub(r"Redis \d+(\.\d+)+ ", "Redis VERSION ", line)
        line = re.sub(r"ping \d+\.\d+ ms", "ping N ms", line)
        line = re.sub(r"connected_clients \d+/\d+", "connected_clients N/N", line)
        lines.append(" ".join(line.split()))
    return lines + sorted(rows)


def _typed(value: Any, kind: type) -> str:
    assert isinstance(value, kind), f"{value!r} is not a {kind.__name__}"
    assert not isinstance(value, bool), f"{value!r} is a bool, not a {kind.__name__}"
    return f"<{kind.__name__}>"


def normalise_status_json(text: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(text)
    for pool in report["pools"].values():
        pool["url"] = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", pool["url"])
        server = pool["server"]
        server["ping_ms"] = _typed(server["ping_ms"], float)
        server["version"] = _typed(server["version"], str)
        server["connected_clients"] = _typed(server["connected_clients"], int)
        server["maxclients"] = _typed(server["maxclients"], int)
        for process in server["processes"]:
            process["host"] = _typed(process["host"], str)
            for key in ("pid", "idle_seconds_min", "idle_seconds_max", "age_seconds_max"):
                process[key] = _typed(process[key], int)
        server["processes"].sort(key=lambda process: process["connections"])
    return report


@pytest.mark.real_redis
def test_status_samples_match_a_real_run(own_server: RedisServer, settings: Any, holders: None) -> None:
    page = DOCS / "status.md"
    settings.REDIS_POOL = on_test_server(sample_settings(page, "status"), own_server.port)
    text, json_text = StringIO(), StringIO()
    call_command("redis_pool_status", stdout=text)
    call_command("redis_pool_status", "--format", "json", stdout=json_text)
    check_sample(page, "status-text", text.getvalue(), normalise_status_text, own_server.port)
    check_sample(page, "status-json", json_text.getvalue(), normalise_status_json, own_server.port)


def test_check_sample_matches_a_real_run(redis_server: RedisServer, settings: Any) -> None:
    page = DOCS / "checks.md"
    settings.REDIS_POOL = on_test_server(sample_settings(page, "check-w003"), redis_server.port)
    out, err = StringIO(), StringIO()
    call_command("check", stdout=out, stderr=err)
    check_sample(page, "check-w003", err.getvalue(), str.strip, redis_server.port)


def normalise_health(text: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(text)
    body["took_ms"] = _typed(body["took_ms"], float)
    for pool in body["pools"].values():
        pool["latency_ms"] = _typed(pool["latency_ms"], float)
    return body


def test_health_sample_matches_a_real_run(redis_server: RedisServer, settings: Any) -> None:
    page = DOCS / "health-and-metrics.md"
    settings.REDIS_POOL = on_test_server(sample_settings(page, "health"), redis_server.port)
    response = HealthView.as_view()(RequestFactory().get("/health/redis/"))
    assert response.status_code == 200
    formatted = json.dumps(json.loads(response.content), indent=2)
    check_sample(page, "health-json", formatted, normalise_health, redis_server.port)
