"""The fleet publisher and store: settings, when it starts, what a snapshot holds, fork, TTL, outages."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from django_redis_pool import get_async_redis, get_redis
from django_redis_pool._conf.fleet import FleetSettings, get_fleet_settings, parse_fleet
from django_redis_pool._fleet import publisher
from django_redis_pool._fleet.snapshot import SCHEMA, build_snapshot, identity, process_role
from django_redis_pool._fleet.store import index_key, process_key, read_fleet, write_snapshot
from django_redis_pool._pool.counters import STATS_KEYS
from django_redis_pool._registry import sync as registry
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import APP_PASSWORD, RedisServer
from tests.support.waiting import eventually

FAST = {"ALIAS": "default", "INTERVAL": 0.2}


@pytest.fixture
def fleet(real_redis: RedisServer, settings: Any) -> Iterator[FleetSettings]:
    settings.REDIS_POOL_FLEET = FAST
    found = get_fleet_settings()
    assert found is not None
    yield found
    publisher.stop()


def snapshots(server: RedisServer, fleet: FleetSettings) -> list[dict[str, Any]]:
    return read_fleet(server.admin(), fleet, time.time()).snapshots


def mine(server: RedisServer, fleet: FleetSettings) -> dict[str, Any] | None:
    return next((s for s in snapshots(server, fleet) if s["pid"] == os.getpid()), None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "REDIS_POOL_FLEET must be a dict such as {'ALIAS': 'default', 'INTERVAL': 10}, got list."),
        ({"INTERVALL": 1}, "REDIS_POOL_FLEET has an unknown key 'INTERVALL'. Did you mean 'INTERVAL'?"),
        ({"ALIAS": "nope"}, "REDIS_POOL_FLEET['ALIAS'] must name an alias of REDIS_POOL to publish into, "),
        (
            {"INTERVAL": 0},
            "REDIS_POOL_FLEET['INTERVAL'] must be a number of seconds from 0.1 to 3600, got 0.",
        ),
        ({"INTERVAL": True}, "REDIS_POOL_FLEET['INTERVAL'] must be a number of seconds from 0.1 to 3600"),
        ({"INTERVAL": float("nan")}, "REDIS_POOL_FLEET['INTERVAL'] must be a number of seconds"),
        ({"NAMESPACE": "a{b}"}, "REDIS_POOL_FLEET['NAMESPACE'] must be a non-empty string of letters"),
    ],
)
def test_bad_fleet_settings_name_the_key(value: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_fleet(value, ["default"])
    assert str(raised.value).startswith(message)


def test_fleet_settings_defaults_and_ttl() -> None:
    assert parse_fleet(None, ["default"]) is None
    assert parse_fleet({}, ["default"]) is None
    found = parse_fleet({"INTERVAL": 2}, ["default"])
    assert found == FleetSettings(alias="default", interval=2.0, namespace="django_redis_pool")
    assert found.ttl == 6.0


def test_an_invalid_fleet_setting_is_a_startup_error(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://"}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "cache"}
    error = registry.build_error()
    assert error is not None
    assert str(error).startswith("REDIS_POOL_FLEET['ALIAS'] must name an alias of REDIS_POOL")
    assert [m.id for m in run_checks() if m.id.startswith("django_redis_pool")] == ["django_redis_pool.E001"]


def test_nothing_is_published_before_a_pool_connects(fleet: FleetSettings, real_redis: RedisServer) -> None:
    call_command("check")
    assert publisher.current() is None
    assert snapshots(real_redis, fleet) == []
    get_redis().ping()
    assert eventually(lambda: mine(real_redis, fleet)) is not None


def test_a_snapshot_holds_identity_and_every_stats_key(fleet: FleetSettings, real_redis: RedisServer) -> None:
    get_redis().set("k", "v")
    document = eventually(lambda: mine(real_redis, fleet))
    assert document is not None
    assert (document["schema"], document["pid"], document["interval"]) == (SCHEMA, os.getpid(), 0.2)
    assert document["role"] == process_role()
    assert set(document) == {
        "schema", "host", "pid", "started", "role", "version", "published", "interval", "pools", "age_s"
    }  # fmt: skip
    [pool] = document["pools"]
    assert (pool["alias"], pool["node"], pool["driver"]) == ("default", "", "sync")
    assert tuple(pool["stats"]) == STATS_KEYS
    assert pool["stats"]["checkouts"] >= 1
    assert 0 <= document["age_s"] < 60


def test_asyncio_pools_are_in_the_snapshot(fleet: FleetSettings, real_redis: RedisServer) -> None:
    async def use() -> None:
        await get_async_redis().ping()
        document = build_snapshot(identity(), fleet.interval)
        drivers = [(p["alias"], p["driver"], p["stats"].get("loops")) for p in document["pools"]]
        assert drivers == [("default", "sync", None), ("default", "asyncio", 1)]

    asyncio.run(use())


def test_no_secret_in_a_snapshot(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url_for("app", APP_PASSWORD), **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = FAST
    try:
        get_redis().ping()
        fleet = get_fleet_settings()
        assert fleet is not None
        raw = eventually(lambda: real_redis.admin().get(process_key(fleet, identity())))
        assert raw is not None
        assert APP_PASSWORD not in raw
        assert "redis://" not in raw
    finally:
        publisher.stop()


def test_the_status_command_publishes_nothing(fleet: FleetSettings, real_redis: RedisServer) -> None:
    with publisher.suppressed():
        get_redis().ping()
        assert publisher.current() is None
    assert snapshots(real_redis, fleet) == []


def test_a_clean_stop_removes_the_snapshot_and_a_silent_one_expires(
    fleet: FleetSettings, real_redis: RedisServer
) -> None:
    get_redis().ping()
    assert eventually(lambda: mine(real_redis, fleet)) is not None
    publisher.stop(forget=True)
    assert mine(real_redis, fleet) is None
    assert real_redis.admin().zcard(index_key(fleet)) == 0
    # A process that stops publishing without cleaning up (SIGKILL) expires after the TTL.
    write_snapshot(real_redis.admin(), fleet, build_snapshot(identity(), fleet.interval), time.time())
    assert mine(real_redis, fleet) is not None
    assert eventually(lambda: mine(real_redis, fleet) is None)


def _child_publishes(published: Any, done: Any) -> None:
    get_redis().ping()  # the child's first connection starts the child's own publisher
    running = publisher.current()
    if running is not None and eventually(lambda: running.published >= 1):
        published.set()
    done.wait(30)
    os._exit(0)  # as a SIGKILL would: no atexit, the snapshot stays until its TTL


def test_a_forked_child_publishes_its_own_snapshot_which_expires_when_it_dies(
    fleet: FleetSettings, real_redis: RedisServer
) -> None:
    get_redis().ping()
    assert eventually(lambda: mine(real_redis, fleet)) is not None
    context = multiprocessing.get_context("fork")
    published, done = context.Event(), context.Event()
    child = context.Process(target=_child_publishes, args=(published, done))
    child.start()
    try:
        assert published.wait(30) is True
        pids = {s["pid"] for s in snapshots(real_redis, fleet)}
        assert {os.getpid(), child.pid} <= pids
    finally:
        done.set()
        child.join(30)
    assert child.exitcode == 0
    assert eventually(lambda: child.pid not in {s["pid"] for s in snapshots(real_redis, fleet)})
    running = publisher.current()
    assert running is not None  # the parent's publisher is untouched by the fork
    assert running.thread.is_alive()


def test_skipped_snapshots_say_why(fleet: FleetSettings, real_redis: RedisServer) -> None:
    client = real_redis.admin()
    now = time.time()
    for key, raw in [("a", "{not json"), ("b", json.dumps({"schema": 99})), ("c", json.dumps([1]))]:
        full = f"{{{fleet.namespace}:fleet}}:process:{key}"
        client.set(full, raw, px=10_000)
        client.zadd(index_key(fleet), {full: now + 10})
    read = read_fleet(client, fleet, now)
    assert read.snapshots == []
    assert [line.split(": ", 1)[1] for line in read.skipped] == [
        "not a snapshot (invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1))",
        "snapshot schema 99, this version reads schema 1 (skipped)",
        "not a snapshot (not a JSON object)",
    ]


def test_redis_down_and_back_logs_once_and_publishing_resumes(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServer() as server:
        settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS}}
        settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 0.1}
        try:
            get_redis().ping()
            running = publisher.current()
            assert running is not None
            assert eventually(lambda: running.published >= 1)
            caplog.set_level(logging.WARNING, logger="django_redis_pool")
            server.stop(remove_dir=False)
            assert eventually(lambda: running.failures >= 3, within=30)
            server.restart()
            assert eventually(lambda: running.failures == 0, within=30)
            published = running.published
            assert eventually(lambda: running.published > published)
            assert running.thread.is_alive()
            messages = [r.getMessage() for r in caplog.records if r.name == "django_redis_pool"]
            assert len([m for m in messages if "cannot publish" in m]) == 1
            assert len([m for m in messages if "publishing pool snapshots to 'default' again" in m]) == 1
        finally:
            publisher.stop()


def test_process_role_is_the_program_never_its_arguments() -> None:
    assert process_role(["/srv/venv/bin/gunicorn", "app.wsgi", "--bind", "0.0.0.0"]) == "gunicorn"
    assert process_role(["manage.py", "runserver", "--settings=x"]) == "manage.py runserver"
    assert process_role(["/usr/bin/celery", "-A", "proj", "worker"]) == "celery"
    assert process_role([]) == "python"
    assert (
        process_role(["/srv/venv/lib/python3.12/site-packages/gunicorn/__main__.py", "app.wsgi"])
        == "gunicorn"
    )


def test_cluster_alias_as_fleet_target(redis_cluster: Any, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = FAST
    fleet = get_fleet_settings()
    assert fleet is not None
    client = registry.get_entry("default").side_client(2.0)
    try:
        write_snapshot(client, fleet, build_snapshot(identity(), fleet.interval), time.time())
        [found] = read_fleet(client, fleet, time.time()).snapshots
        assert found["pid"] == os.getpid()
    finally:
        client.close()
        publisher.stop()


def test_a_side_client_is_not_counted_in_the_pool(real_redis: RedisServer) -> None:
    client = registry.get_entry("default").side_client(1.0)
    try:
        assert client.ping() is True
        assert isinstance(client, redis.Redis)
    finally:
        client.close()
    stats = registry.get_entry("default").stats()
    assert (stats["checkouts"], stats["connections_created"]) == (0, 0)
