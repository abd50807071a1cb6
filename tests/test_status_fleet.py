"""``redis_pool_status`` reading the fleet: snapshots written into the real server with the store's API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from django_redis_pool import get_redis
from django_redis_pool._conf.fleet import FleetSettings, get_fleet_settings
from django_redis_pool._fleet import publisher, store
from django_redis_pool._pool.naming import local_host
from django_redis_pool.management.commands import _fleet_read, redis_pool_status
from django_redis_pool.management.commands._fleet_text import FLEET_HINT
from tests.conftest import SAFE_LIMITS
from tests.support.fleet_snapshots import pool, snapshot
from tests.support.redis_server import RedisServer, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = 1764680100.0


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command("redis_pool_status", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def fleet(real_redis: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FleetSettings]:
    """REDIS_POOL_FLEET on the real server, read at the fixed time NOW (snapshot ages are exact)."""
    settings.REDIS_POOL = {"default": {"URL": real_redis.url, "MAX_CONNECTIONS": 10, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    monkeypatch.setattr(_fleet_read, "time", types.SimpleNamespace(time=lambda: NOW))
    found = get_fleet_settings()
    assert found is not None
    yield found
    publisher.stop()


def publish(server: RedisServer, settings: FleetSettings, *documents: dict[str, Any]) -> None:
    for document in documents:
        store.write_snapshot(server.admin(), settings, document, NOW)


def worker(pid: int, age: float = 2.0, **stats: Any) -> dict[str, Any]:
    return snapshot(pid, pool(**stats), host="web-1", published=NOW - age, age_s=0.0)


@pytest.fixture
def holder(real_redis: RedisServer) -> Iterator[int]:
    """Another process holding 2 pooled connections and publishing nothing: its pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.holder", real_redis.url, "2"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.communicate(timeout=30)


def fleet_part(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fleet: "))
    return lines[start:]


def test_without_the_setting_the_text_says_how_to_enable_it_and_json_has_null(
    real_redis: RedisServer,
) -> None:
    assert run("--no-server").splitlines()[-1] == FLEET_HINT
    document = json.loads(run("--format", "json", "--no-server"))
    assert (document["fleet"], document["fleet_error"], document["advice"]) == (None, None, None)


def test_the_text_shows_one_row_per_process_and_the_totals(
    fleet: FleetSettings, real_redis: RedisServer
) -> None:
    publish(
        real_redis,
        fleet,
        worker(101, in_use=1, idle=3, peak_in_use=4, checkouts=900, closed_for_idle=2),
        worker(102, age=7.0, in_use=10, peak_in_use=10, checkouts=5000, waits=40, wait_ms_p50=1.5,
               wait_ms_p99=12.5, wait_ms_max=31.0, exhausted=3, connection_errors=1, closed_for_age=4),
    )  # fmt: skip
    assert fleet_part(run("--no-server")) == [
        "fleet: 2 snapshot(s) in alias 'default' (published every 10s, kept 30s)",
        "  default: 2 process(es) publishing",
        "    HOST   PID  ROLE      AGE  IN_USE  IDLE  MAX  PEAK  WAITS  P50_MS  P99_MS  MAX_MS  EXHAUSTED"
        "  ERRORS  CLOSED_AGE  CLOSED_IDLE",
        "    web-1  101  gunicorn   2s       1     3   10     4      0       0       0       0          0"
        "       0           0            2",
        "    web-1  102  gunicorn   7s      10     0   10    10     40     1.5    12.5      31          3"
        "       1           4            0",
        "    total                          11     3   20    14     40     1.5    12.5      31          3"
        "       1           4            2",
    ]


def test_json_has_the_fleet_view(fleet: FleetSettings, real_redis: RedisServer) -> None:
    publish(real_redis, fleet, worker(101, in_use=2, checkouts=7))
    document = json.loads(run("--format", "json", "--no-server"))
    (row,) = document["fleet"]["aliases"]["default"]["processes"]
    assert (row["host"], row["pid"], row["in_use"], row["checkouts"], row["age_s"]) == (
        "web-1",
        101,
        2,
        7,
        2.0,
    )
    assert document["fleet"]["aliases"]["default"]["totals"]["processes"] == 1
    assert document["fleet"]["skipped"] == []
    assert document["fleet_error"] is None
    assert document["advice"] is None


@pytest.mark.slow  # the holder is a process of its own (a second)
def test_processes_are_flagged_against_the_servers_listing(
    fleet: FleetSettings, real_redis: RedisServer, holder: int
) -> None:
    publish(real_redis, fleet, worker(101, in_use=1, idle=1))
    view = json.loads(run("--format", "json"))["fleet"]["aliases"]["default"]
    assert [(f["host"], f["pid"], f["flag"], f["connections"]) for f in view["flagged"]] == [
        ("web-1", 101, "no_connections", 0),
        (local_host(), holder, "no_snapshot", 2),
    ]
    text = fleet_part(run())
    assert text[1] == "  default: 1 process(es) publishing, 2 flagged"
    assert (
        f"    no_snapshot: {local_host()} pid {holder} holds 2 pooled connection(s) on the server"
        in "\n".join(text)
    )


def test_skipped_snapshots_are_listed(fleet: FleetSettings, real_redis: RedisServer) -> None:
    other = {**worker(9), "schema": 99}
    publish(real_redis, fleet, other)
    key = store.process_key(fleet, other)
    text = fleet_part(run("--no-server"))
    assert text[-1] == f"  skipped {key}: snapshot schema 99, this version reads schema 1 (skipped)"
    assert text[1] == "  default: 0 process(es) publishing"


def test_an_unreadable_fleet_is_a_line_and_exit_1(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, **SAFE_LIMITS},
        "fleet": {"URL": f"redis://:s3cret@127.0.0.1:{free_port()}/0", **SAFE_LIMITS},
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "fleet"}
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("redis_pool_status", "--alias", "default", stdout=out)
    assert raised.value.returncode == 1
    assert str(raised.value).startswith("cannot read the fleet from alias 'fleet': ConnectionError")
    assert out.getvalue().splitlines()[-1] == str(raised.value)
    assert "s3cret" not in out.getvalue() + str(raised.value)


def test_advise_prints_the_advice_with_evidence_and_setting(
    fleet: FleetSettings, real_redis: RedisServer
) -> None:
    publish(real_redis, fleet, worker(101, peak_in_use=10, checkouts=300, exhausted=2))
    lines = run("--advise", "--no-server").splitlines()
    start = lines.index("advice for default:")
    assert lines[start:] == [
        "advice for default:",
        "  warning [raise_max_connections] 1 of 1 process(es) queue for a connection (a pool at its limit "
        "of 10, wait p99 above 5 ms, or PoolExhaustedError): raise MAX_CONNECTIONS to 15 (the largest "
        "pool peak, 10, with 1.5x headroom).",
        "    evidence: max_connections=10, processes=1, processes_queueing=['web-1:101'], "
        "largest_pool_peak=10, wait_ms_p99=0.0, waits=0, exhausted=2, wait_p99_threshold_ms=5.0",
        "    set: REDIS_POOL['default']['MAX_CONNECTIONS'] = 15",
    ]
    advice = json.loads(run("--advise", "--no-server", "--format", "json"))["advice"]
    assert [item["rule"] for item in advice["default"]] == ["raise_max_connections"]


def test_advise_without_the_fleet_still_reads_the_server(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url, "MAX_IDLE": None, **SAFE_LIMITS}}
    real_redis.admin().config_set("timeout", 300)
    try:
        advice = json.loads(run("--advise", "--format", "json"))["advice"]["default"]
    finally:
        real_redis.admin().config_set("timeout", 0)
    assert [item["rule"] for item in advice] == ["max_idle_vs_server_timeout"]
    assert advice[0]["setting"] == "REDIS_POOL['default']['MAX_IDLE'] = 240"
    healthy = run("--advise", "--no-server").splitlines()
    assert healthy[-1] == "advice for default: none, the pool looks sized right for what was seen."


def test_watch_draws_frames_with_rates(
    fleet: FleetSettings, real_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(real_redis, fleet, worker(101, age=10.0, checkouts=100, waits=2))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # the next frame: the worker published again, 10 s later
        sleeps.append(seconds)
        publish(real_redis, fleet, worker(101, age=0.0, checkouts=600, waits=7, exhausted=1))

    monkeypatch.setattr(redis_pool_status.time, "sleep", sleep)
    text = run("--watch", "2", "--frames", "2", "--no-server")
    frames = text.split("\n\n")
    assert len(frames) == 2
    assert len(sleeps) == 1
    first, second = (frame.splitlines() for frame in frames)
    assert first[0].startswith("redis_pool_status --watch 2  ")
    assert first[3].split()[-3:] == ["CHECKOUTS/S", "WAITS/S", "EXHAUSTED/S"]
    assert first[4].split()[-3:] == ["-", "-", "-"]
    assert second[4].split()[-3:] == ["50.0", "0.5", "0.1"]
    assert second[5].split()[0] == "total"
    assert second[5].split()[-3:] == ["50.0", "0.5", "0.1"]
    assert "\x1b[" not in text  # not a terminal: no screen clearing


def test_watch_on_a_terminal_clears_the_screen_and_ctrl_c_exits_cleanly(
    fleet: FleetSettings, real_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(real_redis, fleet, worker(101))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(redis_pool_status.time, "sleep", interrupt)
    out = StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True, raising=False)
    call_command("redis_pool_status", "--watch", "1", "--no-server", stdout=out)
    assert out.getvalue().startswith(redis_pool_status.CLEAR_SCREEN + "redis_pool_status --watch 1  ")
    assert out.getvalue().endswith("\n\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--watch", "1", "--format", "json"], "--watch redraws text: it cannot be used with --format json."),
        (["--watch", "1"], "--watch shows the fleet: set REDIS_POOL_FLEET first."),
    ],
)
def test_watch_refuses_json_and_a_missing_fleet(
    real_redis: RedisServer, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as raised:
        run(*args, "--no-server")
    assert (str(raised.value), raised.value.returncode) == (message, 1)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_watch_seconds_are_validated_like_the_timeout(real_redis: RedisServer, value: str) -> None:
    with pytest.raises(CommandError) as raised:
        run("--no-server", watch=value)
    assert str(raised.value).startswith("--watch must be a")


def test_the_status_command_publishes_nothing_even_when_it_connects_through_a_pool(
    fleet: FleetSettings, real_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_report = redis_pool_status.build_report

    def connecting(*args: Any, **kwargs: Any) -> Any:  # as a Cluster report does
        get_redis().ping()
        return build_report(*args, **kwargs)

    monkeypatch.setattr(redis_pool_status, "build_report", connecting)
    run("--format", "json")
    assert publisher.current() is None
    assert store.read_fleet(real_redis.admin(), fleet, NOW).snapshots == []


def test_an_invalid_fleet_setting_is_a_command_error(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL_FLEET = {"INTERVAL": 0}
    with pytest.raises(CommandError) as raised:
        run("--no-server")
    assert (
        str(raised.value)
        == "REDIS_POOL_FLEET['INTERVAL'] must be a number of seconds from 0.1 to 3600, got 0."
    )
    assert raised.value.returncode == 1


def test_a_watch_frame_says_what_could_not_be_read_and_goes_on(
    real_redis: RedisServer, settings: Any
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_POOL = {"default": {"URL": dead, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default"}
    lines = run("--watch", "0.01", "--frames", "1", "--timeout", "0.5").splitlines()
    assert lines[1] == "Redis unreachable for 'default'."
    assert lines[2].startswith("cannot read the fleet from alias 'default': ConnectionError")
