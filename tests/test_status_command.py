from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import CommandError, call_command

from django_redis_pool import get_pool, get_redis
from django_redis_pool._pool.counters import STATS_KEYS
from django_redis_pool._pool.naming import local_host
from django_redis_pool._report import NO_CLIENT_NAMES
from django_redis_pool.management.commands._fleet_text import FLEET_HINT
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import NOLIST_PASSWORD, RedisServer, free_port

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
            [sys.executable, "-m", "tests.support.holder", real_redis.url, str(n)],
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


@pytest.mark.slow  # the holders fixture starts two processes (seconds)
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


@pytest.mark.slow  # the holders fixture starts two processes (seconds)
def test_text_table_shows_each_process(holders: dict[int, int]) -> None:
    text = run()
    assert "pooled connections on the server: 5 in 2 process(es)" in text
    for pid, count in holders.items():
        line = next(line for line in text.splitlines() if f"  {pid}  " in line)
        assert line.split()[:3] == [local_host(), str(pid), str(count)]
    assert "    HOST" in text


def test_json_shape_is_stable(real_redis: RedisServer) -> None:
    pool = json.loads(run("--format", "json"))["pools"]["default"]
    assert set(pool) == {
        "kind",
        "url",
        "pool_class",
        "client_name_prefix",
        "limits",
        "stats",
        "server",
        "sentinel",
        "nodes",
    }
    assert (pool["kind"], pool["sentinel"], pool["nodes"]) == ("server", None, None)
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
        "processes_reason",
        "client_list_error",
        "timeout",
        "config_error",
        "warnings",
    }
    assert pool["limits"] == {
        "max_connections": 50,
        "blocking": True,
        "pool_timeout": 5.0,
        "socket_timeout": 5.0,
        "socket_connect_timeout": 5.0,
        "max_lifetime": None,
        "max_idle": None,
        "leak_warning": None,
        "retries": pool["limits"]["retries"],  # the pool classes' branch fills it in
        "retry_backoff": pool["limits"]["retry_backoff"],
    }
    assert (pool["server"]["timeout"], pool["server"]["config_error"], pool["server"]["warnings"]) == (
        0.0,
        None,
        [],
    )
    assert (pool["server"]["processes_reason"], pool["server"]["client_list_error"]) == (None, None)


def _types(document: dict[str, Any]) -> dict[str, str]:
    return {key: type(value).__name__ for key, value in document.items()}


def test_json_uses_one_type_per_key_whether_a_value_was_set_or_not(settings: Any) -> None:
    settings.REDIS_POOL = {
        "given_as_int": {
            "URL": "fakeredis://",
            "SOCKET_TIMEOUT": 5,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "POOL_TIMEOUT": 3,
        },
        "defaults": {"URL": "fakeredis://", "SOCKET_TIMEOUT": 5.0},
    }
    pools = json.loads(run("--format", "json"))["pools"]
    expected = {
        "max_connections": "int",
        "blocking": "bool",
        "pool_timeout": "float",
        "socket_timeout": "float",
        "socket_connect_timeout": "float",
        "max_lifetime": "NoneType",
        "max_idle": "NoneType",
        "leak_warning": "NoneType",
    }
    for alias in ("given_as_int", "defaults"):
        limits = _types(pools[alias]["limits"])
        assert {key: limits[key] for key in expected} == expected, alias
        assert limits["retries"] in ("int", "NoneType")
        stats = pools[alias]["stats"]
        for key, value in stats.items():
            if "_ms" in key or key.endswith("_s"):
                assert value is None or type(value) is float, (alias, key, value)
            elif key == "breaker_state":
                assert value == "closed", (alias, key, value)
            else:
                assert type(value) is int, (alias, key, value)
        server = pools[alias]["server"]
        assert type(server["ping_ms"]) is float


def test_limits_show_recycling_and_retry_policy(settings: Any, entry_fields: Callable[..., None]) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    entry_fields(
        "default",
        settings={"max_lifetime": 300, "max_idle": 60.0, "leak_warning": 2},
        limits={"retries": 3, "retry_backoff": "ExponentialWithJitterBackoff(base=1, cap=10)"},
    )
    limits = json.loads(run("--format", "json", "--no-server"))["pools"]["default"]["limits"]
    assert {key: limits[key] for key in ("max_lifetime", "max_idle", "leak_warning", "retries")} == {
        "max_lifetime": 300.0,
        "max_idle": 60.0,
        "leak_warning": 2.0,
        "retries": 3,
    }
    assert type(limits["max_lifetime"]) is float
    assert limits["retry_backoff"] == "ExponentialWithJitterBackoff(base=1, cap=10)"
    lines = run("--no-server").splitlines()
    assert lines[1:3] == [
        "  limits  max_connections=50 blocking=yes pool_timeout=5s socket_timeout=5s connect_timeout=5s",
        "          max_lifetime=300s max_idle=60s leak_warning=2s retries=3 "
        "(ExponentialWithJitterBackoff(base=1, cap=10))",
    ]


def test_retries_without_a_backoff(settings: Any, entry_fields: Callable[..., None]) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    entry_fields("default", limits={"retries": 0, "retry_backoff": None})
    assert run("--no-server").splitlines()[2] == (
        "          max_lifetime=none max_idle=none leak_warning=none retries=0"
    )


def test_limits_without_recycling_settings_say_none(settings: Any, entry_fields: Callable[..., None]) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    entry_fields("default", limits={"retries": None, "retry_backoff": None})
    assert run("--no-server").splitlines()[2] == "          max_lifetime=none max_idle=none leak_warning=none"


NEW_STATS = {
    "waiting": 2,
    "oldest_checkout_age_s": 1.5,
    "closed_for_age": 4,
    "closed_for_idle": 1,
    "leak_warnings": 3,
    "wait_ms_p50": 0.25,
    "wait_ms_p99": 12.5,
    "wait_ms_window_max": 40.0,
}


def test_new_stats_keys_are_shown_when_the_pool_reports_them(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    pool = get_pool()
    stats = {**pool.stats(), **NEW_STATS}  # type: ignore[attr-defined]
    monkeypatch.setattr(pool, "stats", lambda: dict(stats))
    assert json.loads(run("--format", "json", "--no-server"))["pools"]["default"]["stats"] == stats
    lines = run("--no-server").splitlines()
    assert lines[4:7] == [
        "    held now  waiting=2 oldest_checkout=1.5s leak_warnings=3",
        "    recycled  closed_for_age=4 closed_for_idle=1",
        "    last 1,024 waits  p50 0.25 ms, p99 12.5 ms, max 40 ms",
    ]
    stats["oldest_checkout_age_s"] = None
    assert (
        run("--no-server").splitlines()[4] == "    held now  waiting=2 oldest_checkout=none leak_warnings=3"
    )


def test_no_new_stats_lines_when_the_pool_does_not_report_them(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    pool = get_pool()
    stats = {key: value for key, value in pool.stats().items() if key not in NEW_STATS}  # type: ignore[attr-defined]
    monkeypatch.setattr(pool, "stats", lambda: dict(stats))
    lines = run("--no-server").splitlines()
    assert lines[3].startswith("  this process  in_use=0 ")
    assert lines[4:] == ["", FLEET_HINT]


def test_no_server_does_not_connect(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": f"redis://127.0.0.1:{free_port()}/0", **SAFE_LIMITS}}
    report = json.loads(run("--format", "json", "--no-server"))
    assert report["pools"]["default"]["server"] is None


def test_unreachable_server_exits_1_with_a_redacted_error(settings: Any) -> None:
    port = free_port()
    settings.REDIS_POOL = {
        "default": {"URL": f"redis://:hunter2@127.0.0.1:{port}/0", **SAFE_LIMITS, "OPTIONS": {"retry": None}}
    }
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


def test_client_name_none_says_connections_cannot_be_attributed(
    redis_server: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, **SAFE_LIMITS, "CLIENT_NAME": None}}
    get_redis().ping()
    server = json.loads(run("--format", "json"))["pools"]["default"]["server"]
    assert (server["processes"], server["processes_reason"], server["client_list_error"]) == (
        None,
        NO_CLIENT_NAMES,
        None,
    )
    text = run()
    assert f"  pooled connections on the server: unknown. {NO_CLIENT_NAMES}" in text.splitlines()
    assert "0 in 0 process(es)" not in text


def test_acl_forbidding_client_list_gives_the_reason(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url_for("nolist", NOLIST_PASSWORD), **SAFE_LIMITS}}
    server = json.loads(run("--format", "json"))["pools"]["default"]["server"]
    assert server["processes_reason"] == server["client_list_error"]
    line = next(line for line in run().splitlines() if "pooled connections" in line)
    assert line == f"  pooled connections on the server: unknown. {server['client_list_error']}"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "1e300", "3600.5", "soon", ""])
def test_timeout_flag_must_be_positive_and_finite(settings: Any, value: str) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    with pytest.raises(CommandError) as info:
        run(f"--timeout={value}")
    assert info.value.returncode == 1
    assert str(info.value).startswith("Error: argument --timeout: must be a ")
    assert str(info.value).endswith(f", got {value!r}")


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_timeout_keyword_of_call_command_is_validated_too(settings: Any, value: float) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}
    with pytest.raises(CommandError) as info:
        call_command("redis_pool_status", timeout=value, stdout=StringIO(), stderr=StringIO())
    assert info.value.returncode == 1
    assert str(info.value) == f"--timeout must be a positive number of seconds up to 3600, got {value!r}"


def test_small_positive_timeout_reaches_a_live_server(real_redis: RedisServer) -> None:
    server = json.loads(run("--format", "json", "--timeout", "0.5"))["pools"]["default"]["server"]
    assert server["reachable"] is True


@pytest.mark.parametrize("missing", [False, True])
def test_nothing_to_report_exits_1(settings: Any, request: pytest.FixtureRequest, missing: bool) -> None:
    if missing:
        request.getfixturevalue("without_redis_pool_setting")
    else:
        settings.REDIS_POOL = {}
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("redis_pool_status", "--format", "json", stdout=out, stderr=StringIO())
    assert info.value.returncode == 1
    assert str(info.value) == (
        "REDIS_POOL has no aliases: nothing to report, and get_redis() will fail. "
        "Add a 'default' alias (see django_redis_pool.W009)."
    )
    assert out.getvalue() == ""


def test_server_timeout_is_read_and_max_idle_longer_than_it_is_flagged(
    real_redis: RedisServer, entry_fields: Callable[..., None]
) -> None:
    admin = real_redis.admin()
    admin.config_set("timeout", 300)
    try:
        entry_fields("default", settings={"max_idle": 600})
        server = json.loads(run("--format", "json"))["pools"]["default"]["server"]
        warning = (
            "MAX_IDLE (600s) is longer than the server's timeout (300s): the server closes an idle "
            "connection before the pool would, and the pool finds it closed on its next use. "
            "Set MAX_IDLE below 300s."
        )
        assert (server["timeout"], server["config_error"], server["warnings"]) == (300.0, None, [warning])
        lines = run().splitlines()
        assert "  server timeout  300s (closes clients idle for longer)" in lines
        assert f"  {warning}" in lines
        entry_fields("default", settings={"max_idle": 200})
        assert json.loads(run("--format", "json"))["pools"]["default"]["server"]["warnings"] == []
    finally:
        admin.config_set("timeout", 0)


def test_server_timeout_zero_never_flags_max_idle(
    real_redis: RedisServer, entry_fields: Callable[..., None]
) -> None:
    entry_fields("default", settings={"max_idle": 600})
    server = json.loads(run("--format", "json"))["pools"]["default"]["server"]
    assert (server["timeout"], server["warnings"]) == (0.0, [])
    assert "  server timeout  0 (never closes idle clients)" in run().splitlines()


def test_acl_forbidding_config_is_tolerated(redis_server: RedisServer, settings: Any) -> None:
    admin = redis_server.admin()
    password = "noconfig-Pa55-not-leaked"
    admin.acl_setuser(
        "noconfig",
        enabled=True,
        passwords=[f"+{password}"],
        keys=["~*"],
        channels=["&*"],
        commands=["+@all", "-config"],
    )
    try:
        settings.REDIS_POOL = {"default": {"URL": redis_server.url_for("noconfig", password), **SAFE_LIMITS}}
        report = run("--format", "json")
        server = json.loads(report)["pools"]["default"]["server"]
        assert server["timeout"] is None
        assert server["config_error"].startswith("CONFIG GET timeout is not available: ")
        assert server["warnings"] == []
        assert server["reachable"] is True
        assert isinstance(server["processes"], list)
        assert password not in report + run()
    finally:
        admin.acl_deluser("noconfig")


def test_a_server_that_answers_config_get_with_nothing(
    real_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis.Redis, "config_get", lambda self, pattern: {})
    server = json.loads(run("--format", "json"))["pools"]["default"]["server"]
    assert (server["timeout"], server["config_error"]) == (None, "CONFIG GET timeout returned nothing.")


def test_an_open_circuit_breaker_is_shown(settings: Any) -> None:
    settings.REDIS_POOL = {
        "down": {
            "URL": f"redis://127.0.0.1:{free_port()}/0",
            **SAFE_LIMITS,
            "OPTIONS": {"retry": None},
            "CIRCUIT_BREAKER": {"FAILURES": 1},
        }
    }
    for _ in range(2):
        with pytest.raises(redis.exceptions.ConnectionError):
            get_redis("down").ping()
    out = StringIO()
    call_command("redis_pool_status", "--no-server", stdout=out)
    lines = out.getvalue().splitlines()
    assert "    circuit breaker  open, opened 1 time(s), refused 1 checkout(s)" in lines
