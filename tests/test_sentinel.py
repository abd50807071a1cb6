"""Sentinel aliases against a real master, replica and three sentinels the suite starts."""

from __future__ import annotations

import json
import logging
import os
import time
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import call_command

from django_redis_pool import get_pool, get_redis, get_stats
from django_redis_pool._pool.naming import local_host
from django_redis_pool._registry import sync as registry
from django_redis_pool._topology.sentinel import FailoverWatcher, SentinelBlockingPool
from tests.conftest import SAFE_LIMITS
from tests.support.failover import write_through_failover
from tests.support.topologies import SentinelTopology
from tests.test_real_redis import text


def ha_settings(topology: SentinelTopology, **extra: Any) -> dict[str, Any]:
    return {
        "SENTINELS": topology.sentinels,
        "SERVICE_NAME": topology.service_name,
        **SAFE_LIMITS,
        "MAX_CONNECTIONS": 8,
        **extra,
    }


def our_connections(server: redis.Redis, alias: str) -> list[dict[str, Any]]:
    prefix = f"django_redis_pool:{alias}:"
    return [c for c in server.client_list() if str(c.get("name", "")).startswith(prefix)]


def test_writes_go_to_the_master_and_replica_aliases_read_the_replica(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {
        "ha": ha_settings(sentinel_topology),
        "ha-read": ha_settings(sentinel_topology, ROLE="replica"),
    }
    assert isinstance(get_pool("ha"), SentinelBlockingPool)
    assert get_redis("ha").set("k", "v") is True
    master = sentinel_topology.master_port()
    (replica,) = sentinel_topology.replica_ports()
    assert sentinel_topology.admin(master).get("k") == "v"
    assert get_redis("ha").wait(1, 2000) == 1
    assert get_redis("ha-read").get("k") == b"v"
    assert get_redis("ha-read").connection_pool.get_connection().port == replica
    name = f"django_redis_pool:ha:{local_host()}:{os.getpid()}"
    assert [c["name"] for c in our_connections(sentinel_topology.admin(master), "ha")] == [name]
    stats = get_stats("ha")
    assert (stats["checkouts"], stats["connections_created"]) == (2, 1)


def test_a_graceful_failover_moves_writes_within_the_second_and_loses_at_most_a_handful(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {"ha": ha_settings(sentinel_topology)}
    client = get_redis("ha")
    old = sentinel_topology.master_address()
    run = write_through_failover(client, sentinel_topology.failover, sentinel_topology.admin)
    print(f"graceful failover: {run}")
    assert run.new_master != old
    assert run.acknowledged > 500
    assert run.lost <= 5
    assert run.gap_s < 30
    # No pooled connection still points at the old master.
    pool = get_pool("ha")
    for connection in [*pool._available_connections, *pool._in_use_connections]:
        assert connection._sock is None or (connection.host, connection.port) == run.new_master
    assert our_connections(sentinel_topology.admin(old[1]), "ha") == []


def test_writes_resume_on_the_new_master_after_the_master_is_killed(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {"ha": ha_settings(sentinel_topology)}
    old = sentinel_topology.master_address()

    def kill() -> tuple[str, int]:
        sentinel_topology.kill_master()
        return sentinel_topology.wait_for_master_change(old, timeout=30)

    run = write_through_failover(get_redis("ha"), kill, sentinel_topology.admin, settle_s=2.0)
    print(f"killed master: {run}")
    assert run.new_master != old
    assert run.gap_s < 30
    # The last writes landed on the new master: writes resumed there without a restart.
    assert get_redis("ha").set("after", "kill") is True
    assert sentinel_topology.admin(run.new_master[1]).get("after") == "kill"
    pool = get_pool("ha")
    for connection in [*pool._available_connections, *pool._in_use_connections]:
        assert connection._sock is None or (connection.host, connection.port) == run.new_master


class FakePool:
    service_name = "mymaster"

    def __init__(self) -> None:
        self.announced: list[Any] = []

    def announce(self, address: Any) -> None:
        self.announced.append(address)


def test_the_watcher_follows_promotions_switches_and_aborts_of_its_service_only() -> None:
    pool = FakePool()
    watcher = FailoverWatcher(pool, [], {})  # type: ignore[arg-type]
    watcher.handle(
        "+failover-state-send-slaveof-noone",
        "slave 127.0.0.1:7002 127.0.0.1 7002 @ mymaster 127.0.0.1 7001",
    )
    watcher.handle("+switch-master", "mymaster 127.0.0.1 7001 127.0.0.1 7002")
    watcher.handle("+switch-master", "other 127.0.0.1 7001 127.0.0.1 7003")
    watcher.handle("-failover-abort-not-elected", "master mymaster 127.0.0.1 7001")
    watcher.handle("+failover-state-send-slaveof-noone", "slave x 10.0.0.1 7009 @ other 127.0.0.1 7001")
    assert pool.announced == [("127.0.0.1", 7002), ("127.0.0.1", 7002), None]


def test_the_watcher_stops_with_the_pool(sentinel_topology: SentinelTopology, settings: Any) -> None:
    settings.REDIS_POOL = {"ha": ha_settings(sentinel_topology)}
    watcher = get_pool("ha")._watcher
    assert watcher is not None
    assert all(t.is_alive() for t in watcher._threads)
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://"}}  # closes the Sentinel pool
    deadline = time.monotonic() + 5
    while any(t.is_alive() for t in watcher._threads) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [t.is_alive() for t in watcher._threads] == [False, False, False]


def test_sentinel_passwords_never_show(
    sentinel_topology: SentinelTopology, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.REDIS_POOL = {
        "ha": ha_settings(
            sentinel_topology,
            URL="redis://:data-Secret-77@/0",
            SENTINEL_OPTIONS={"password": "sent-Secret-88"},
        )
    }
    # The test servers have no passwords: redis-py 8 (HELLO 3 AUTH) is let in anyway, redis-py 5
    # (AUTH) is refused. Either way the secrets were sent, and must show nowhere.
    try:
        get_redis("ha").ping()
        error = ""
    except redis.RedisError as exc:
        error = f"{exc!s} {exc!r}"
    entry = registry.get_entry("ha")
    text = f"{get_pool('ha')!r} {get_stats('ha')!r} {entry!r} {entry.settings!r} {caplog.text} {error}"
    assert "data-Secret-77" not in text
    assert "sent-Secret-88" not in text


def test_status_shows_the_master_the_sentinels_report_and_the_replicas(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {"ha": ha_settings(sentinel_topology)}
    get_redis("ha").ping()
    master = f"127.0.0.1:{sentinel_topology.master_port()}"
    (replica,) = sentinel_topology.replica_ports()
    out = StringIO()
    call_command("redis_pool_status", "--format", "json", stdout=out)
    pool = json.loads(out.getvalue())["pools"]["ha"]
    assert (pool["kind"], pool["pool_class"], pool["nodes"]) == ("sentinel", "SentinelBlockingPool", None)
    sentinel = pool["sentinel"]
    assert (sentinel["master"], sentinel["agreeing_sentinels"], sentinel["target"]) == (master, 3, master)
    assert [r["address"] for r in sentinel["replicas"]] == [f"127.0.0.1:{replica}"]
    assert [s["reachable"] for s in sentinel["sentinels"]] == [True, True, True]
    assert (pool["server"]["reachable"], pool["server"]["role"]) == (True, "master")
    assert [p["pid"] for p in pool["server"]["processes"]] == [os.getpid()]
    text = StringIO()
    call_command("redis_pool_status", stdout=text)
    assert f"  sentinels  service 'mymaster': master {master} (3 of 3 sentinels agree); replicas " in (
        text.getvalue()
    )
    assert f"  checking the master, {master}:" in text.getvalue()


def run_in_child(work: Any) -> str:
    """Fork, run ``work()`` in the child, return what it returned (as text)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write_fd, str(work()).encode())
        except BaseException as exc:
            os.write(write_fd, f"child failed: {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd) as pipe:
        return pipe.read()


def test_a_forked_child_gets_its_own_connections_and_watcher(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {"ha": ha_settings(sentinel_topology)}
    parent_id = get_redis("ha").client_id()

    def in_child() -> str:
        client = get_redis("ha")
        client_id, name = client.client_id(), text(client.client_getname())  # the child's first use
        alive = sum(thread.is_alive() for thread in get_pool("ha")._watcher._threads)
        return f"{client_id} {name} {alive} {os.getpid()}"

    child_id, child_name, alive, child_pid = run_in_child(in_child).split()
    assert int(child_id) != parent_id
    assert child_name == f"django_redis_pool:ha:{local_host()}:{child_pid}"
    assert alive == "3"  # one watcher thread per sentinel, started again in the child
    assert get_redis("ha").client_id() == parent_id
