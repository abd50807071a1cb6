from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from django_redis_pool import get_redis
from django_redis_pool.naming import local_host
from django_redis_pool.stats import STATS_KEYS
from tests.conftest import SAFE_LIMITS
from tests.redis_server import NOLIST_PASSWORD, RedisServer, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str) -> str:
    out = StringIO()
    call_command("redis_pool_status", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def holders(real_redis: RedisServer) -> Iterator[dict[int, int]]:
    """Two other processes holding 2 and 3 pooled connections: {pid: connections}."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.holder", real_redis.url, str(n)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (2, 3)
    ]
    try:
        pids = {int(p.stdout.readline()): n for p, n in zip(processes, (2, 3), strict=True)}  # type: ignore[union-attr]
        yield pids
    finally:
        for process in processes:
            process.communicate(timeout=30)


def test_json_lists_every_process_holding_pooled_connections(holders: dict[int, int]) -> None:
    get_redis().ping()  # this process holds one too
    report = json.loads(run("--format", "json"))
    server = report["pools"]["default"]["server"]
    by_pid = {p["pid"]: p for p in server["processes"]}
    assert {pid: by_pid[pid]["connections"] for pid in holders} == holders
    assert by_pid[os.getpid()]["connections"] == 1
    assert by_pid[os.getpid()]["this_process"] is True
    assert set(by_pid) == {*holders, os.getpid()}
    for pid in holders:
        assert by_pid[pid]["host"] == local_host()
        assert by_pid[pid]["alias"] == "default"
        assert by_pid[pid]["this_process"] is False
    assert server["reachable"] is True
    assert server["role"] == "master"
    assert server["connected_clients"] >= 6
    assert server["maxclients"] == 10000
    assert server["ping_ms"] > 0


def test_text_table_shows_each_process(holders: dict[int, int]) -> None:
    text = run()
    assert "pooled connections on the server: 5 in 2 process(es)" in text
    for pid, count in holders.items():
        line = next(line for line in text.splitlines() if f"  {pid}  " in line)
        assert line.split()[:3] == [local_host(), str(pid), str(count)]
    assert "    HOST" in text


def test_json_shape_is_stable(real_redis: RedisServer) -> None:
    pool = json.loads(run("--format", "json"))["pools"]["default"]
    assert set(pool) == {"url", "pool_class", "client_name_prefix", "limits", "stats", "server"}
    assert tuple(sorted(pool["stats"])) == tuple(sorted(STATS_KEYS))
    assert set(pool["server"]) == {
        "reachable",
        "error",
        "info_error",
        "ping_ms",
        "version",
        "role",
        "connected_clients",
        "maxclients",
        "processes",
        "client_list_error",
    }
    assert pool["limits"] == {
        "max_connections": 50,
        "blocking": True,
        "pool_timeout": 5,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
    }


def test_no_server_does_not_connect(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": f"redis://127.0.0.1:{free_port()}/0", **SAFE_LIMITS}}
    report = json.loads(run("--format", "json", "--no-server"))
    assert report["pools"]["default"]["server"] is None


def test_unreachable_server_exits_1_with_a_redacted_error(settings: Any) -> None:
    port = free_port()
    settings.REDIS_POOL = {"default": {"URL": f"redis://:hunter2@127.0.0.1:{port}/0", **SAFE_LIMITS}}
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("redis_pool_status", stdout=out, stderr=StringIO())
    assert info.value.returncode == 1
    assert str(info.value) == "Redis unreachable for 'default'."
    text = out.getvalue()
    assert f"default: redis://:***@127.0.0.1:{port}/0 (BlockingPool)" in text
    assert "UNREACHABLE: ConnectionError" in text
    assert "hunter2" not in text


def test_acl_forbidding_client_list_is_reported(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url_for("nolist", NOLIST_PASSWORD), **SAFE_LIMITS}}
    report = json.loads(run("--format", "json"))
    server = report["pools"]["default"]["server"]
    assert server["processes"] is None
    assert server["client_list_error"].startswith("CLIENT LIST is not allowed:")
    assert server["version"] is not None
    text = run()
    assert "CLIENT LIST is not allowed" in text
    assert NOLIST_PASSWORD not in text + json.dumps(report)


def test_alias_selection_and_unknown_alias(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": redis_server.url, **SAFE_LIMITS},
        "other": {"URL": "fakeredis://", **SAFE_LIMITS},
    }
    report = json.loads(run("--format", "json", "--alias", "other", "--no-server"))
    assert list(report["pools"]) == ["other"]
    with pytest.raises(CommandError) as info:
        run("--alias", "nope")
    assert info.value.returncode == 1
    assert str(info.value) == "REDIS_POOL has no alias 'nope'; configured aliases: 'default', 'other'."


def test_fake_backend_reports_without_info(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    text = run()
    assert "  server  ping " in text
    assert "INFO is not available" in text


def test_invalid_setting_is_a_command_error(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "http://x"}}
    with pytest.raises(CommandError, match=r"REDIS_POOL\['default'\]\['URL'\] has scheme http://"):
        run()


def test_stats_in_the_report_are_this_process(real_redis: RedisServer) -> None:
    for _ in range(3):
        get_redis().get("k")
    stats = json.loads(run("--format", "json", "--no-server"))["pools"]["default"]["stats"]
    assert (stats["checkouts"], stats["connections_created"], stats["idle"], stats["in_use"]) == (3, 1, 1, 0)
