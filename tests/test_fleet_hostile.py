"""Snapshots nobody meant to write (another tool, a bug, a hand in redis-cli) and the publisher's races:
whatever is in the namespace, the status command, the page and the metrics still answer."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import CommandError, call_command

from django_redis_pool import apps, get_redis
from django_redis_pool._conf.fleet import FleetSettings, get_fleet_settings
from django_redis_pool._fleet import publisher, store
from django_redis_pool._fleet.view import fleet_view
from django_redis_pool._pool import events
from django_redis_pool._registry import loops
from django_redis_pool._registry import sync as registry
from django_redis_pool.fleet_page import fleet_document
from django_redis_pool.management.commands import redis_pool_status
from django_redis_pool.management.commands._fleet_text import fit
from tests.conftest import SAFE_LIMITS, require_binaries
from tests.support.fleet_snapshots import Read, pool, snapshot
from tests.support.redis_server import RedisServer
from tests.support.topologies import RedisClusterTopology
from tests.test_fleet_publish import eventually as wait_for
from tests.test_metrics import scrape

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def fleet(real_redis: RedisServer, settings: Any) -> Iterator[FleetSettings]:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    found = get_fleet_settings()
    assert found is not None
    yield found
    publisher.stop()


def good(pid: int, host: str = "web-1") -> dict[str, Any]:
    document = snapshot(pid, pool(checkouts=3), host=host, published=time.time())
    del document["age_s"]
    return document


def with_pool(**fields: Any) -> dict[str, Any]:
    document = good(901)
    document["pools"] = [{**document["pools"][0], **fields}]
    return document


def with_stats(**values: Any) -> dict[str, Any]:
    document = good(902)
    document["pools"][0]["stats"].update(values)
    return document


# (name, raw JSON) of documents of schema 1 that no reader can use: each is skipped, with a line saying so.
GARBAGE = [
    ("pid-text", json.dumps({**good(1), "pid": "x"})),
    ("pid-bool", json.dumps({**good(2), "pid": True})),
    ("pid-huge", json.dumps({**good(3), "pid": 10**400})),
    ("published-text", json.dumps({**good(4), "published": "soon"})),
    ("published-nan", json.dumps({**good(5), "published": float("nan")})),
    ("started-infinite", json.dumps({**good(6), "started": float("inf")})),
    ("started-null", json.dumps({**good(7), "started": None})),
    ("host-list", json.dumps({**good(8), "host": ["web-1"]})),
    ("host-escape", json.dumps({**good(9), "host": "\x1b[2Jweb"})),
    ("role-dict", json.dumps({**good(10), "role": {"a": 1}})),
    ("pools-of-null", json.dumps({**good(11), "pools": [None]})),
    ("stats-null", json.dumps(with_pool(stats=None))),
    ("alias-list", json.dumps(with_pool(alias=["default"]))),
    ("stat-text", json.dumps(with_stats(in_use="3"))),
    ("stat-huge", json.dumps(with_stats(checkouts=10**400))),
    ("stat-infinite", json.dumps(with_stats(wait_ms_p99=float("inf")))),
    ("stat-nan", json.dumps(with_stats(wait_ms_max=float("nan")))),
]


def plant(server: RedisServer, settings: FleetSettings, documents: list[tuple[str, str | bytes]]) -> None:
    client = server.admin()
    now = time.time()
    for name, raw in documents:
        key = f"{{{settings.namespace}:fleet}}:process:{name}"
        client.set(key, raw, px=60_000)
        client.zadd(store.index_key(settings), {key: now + 60})


@pytest.fixture
def garbage(fleet: FleetSettings, real_redis: RedisServer) -> FleetSettings:
    """The fleet holds every GARBAGE document and two good ones (one of them on a unicode host)."""
    plant(real_redis, fleet, GARBAGE)
    for document in (good(4242), good(4243, host="wéb-☃")):
        store.write_snapshot(real_redis.admin(), fleet, document, time.time())
    return fleet


def test_snapshots_with_garbage_values_are_skipped_with_a_line_each(
    garbage: FleetSettings, real_redis: RedisServer
) -> None:
    read = store.read_fleet(real_redis.admin(), garbage, time.time())
    assert [(s["host"], s["pid"]) for s in read.snapshots] == [("web-1", 4242), ("wéb-☃", 4243)]
    skipped = dict(line.split(": ", 1) for line in read.skipped)
    prefix = f"{{{garbage.namespace}:fleet}}:process:"
    assert sorted(skipped) == sorted(prefix + name for name, _ in GARBAGE)
    assert skipped[prefix + "pid-text"] == "not a snapshot (its 'pid' is not an integer)"
    assert skipped[prefix + "published-nan"] == "not a snapshot (its 'published' is not a finite number)"
    assert skipped[prefix + "host-escape"] == "not a snapshot (its 'host' is not printable text)"
    assert skipped[prefix + "stats-null"] == "not a snapshot (its pools[0]['stats'] is not an object)"
    assert skipped[prefix + "stat-text"] == (
        "not a snapshot (its pools[0]['stats']['in_use'] is not a finite number)"
    )


def test_the_status_command_reads_a_fleet_holding_garbage(garbage: FleetSettings) -> None:
    out = StringIO()
    call_command("redis_pool_status", "--format", "json", "--advise", stdout=out, stderr=StringIO())
    document = json.loads(out.getvalue())
    rows = document["fleet"]["aliases"]["default"]["processes"]
    assert [(row["host"], row["pid"]) for row in rows] == [("web-1", 4242), ("wéb-☃", 4243)]
    assert len(document["fleet"]["skipped"]) == len(GARBAGE)
    text = StringIO()
    call_command("redis_pool_status", stdout=text, stderr=StringIO())
    assert "\x1b[2J" not in text.getvalue()
    assert "wéb-☃" in text.getvalue()


def test_the_page_reads_a_fleet_holding_garbage(garbage: FleetSettings) -> None:
    document = fleet_document(5.0)
    assert document["error"] is None
    rows = document["aliases"]["default"]["rows"]
    assert [(row["host"], row["pid"]) for row in rows] == [("web-1", 4242), ("wéb-☃", 4243)]
    json.loads(json.dumps(document, allow_nan=False))  # what the browser's JSON.parse accepts


def test_a_scrape_exports_the_good_snapshots_next_to_garbage(garbage: FleetSettings) -> None:
    with publisher.suppressed():
        get_redis().ping()
        samples = scrape(server=False)
    pids = {dict(labels)["pid"] for (name, labels) in samples if name == "django_redis_pool_checkouts_total"}
    assert {"4242", "4243"} <= pids
    assert samples[("django_redis_pool_fleet_snapshots_skipped", ())] == len(GARBAGE)
    assert samples[("django_redis_pool_scrape_errors", (("alias", "default"), ("read", "fleet")))] == 0


def test_a_key_of_any_bytes_is_shown_escaped(fleet: FleetSettings, real_redis: RedisServer) -> None:
    client = redis.Redis(host="127.0.0.1", port=real_redis.port, socket_timeout=5)
    key = f"{{{fleet.namespace}:fleet}}:process:".encode() + b"\xff\x1b[2J"
    client.set(key, b"{not json", px=60_000)
    client.zadd(store.index_key(fleet), {key: time.time() + 60})
    read = store.read_fleet(client, fleet, time.time())
    assert [line.split(": ", 1)[0] for line in read.skipped] == [
        f"{{{fleet.namespace}:fleet}}:process:\\xff\\x1b[2J"
    ]


def test_a_snapshot_not_in_utf8_is_skipped_when_the_alias_decodes_responses(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, "OPTIONS": {"decode_responses": True}, **SAFE_LIMITS}
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    fleet = get_fleet_settings()
    assert fleet is not None
    plant(real_redis, fleet, [("latin-1", json.dumps(good(1)).replace("web-1", "w\xe9b").encode("latin-1"))])
    store.write_snapshot(real_redis.admin(), fleet, good(4242), time.time())
    client = store.fleet_client(fleet, 2.0)
    try:
        read = store.read_fleet(client, fleet, time.time())
    finally:
        client.close()
    assert [s["pid"] for s in read.snapshots] == [4242]
    assert [line.split(": ", 1)[1][:35] for line in read.skipped] == ["not a snapshot (invalid JSON: 'utf-"]


def test_a_scrape_reads_the_fleet_from_a_cluster_alias(redis_cluster: Any, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    fleet = get_fleet_settings()
    assert fleet is not None
    client = store.fleet_client(fleet, 2.0)
    try:
        store.write_snapshot(client, fleet, good(4242), time.time())
        with publisher.suppressed():
            samples = scrape(server=False)
    finally:
        client.delete(store.process_key(fleet, good(4242)), store.index_key(fleet))
        client.close()
        publisher.stop()
    assert samples[("django_redis_pool_scrape_errors", (("alias", "default"), ("read", "fleet")))] == 0
    pids = {dict(labels)["pid"] for (name, labels) in samples if name == "django_redis_pool_checkouts_total"}
    assert "4242" in pids


def test_a_connection_after_the_pools_closed_at_exit_starts_no_publisher(fleet: FleetSettings) -> None:
    client = get_redis()
    client.ping()
    assert publisher.current() is not None
    apps.shutdown()  # atexit: stop publishing, close the pools
    client.ping()  # a daemon thread still at work reconnects a closed pool
    assert publisher.current() is None


def test_a_connection_while_the_settings_change_starts_no_publisher_on_the_old_pools(
    fleet: FleetSettings, real_redis: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_redis().ping()
    assert publisher.current() is not None
    build_all = registry.build_all

    def connect_then_build(raise_errors: bool = True) -> None:
        # Another thread's request opens a socket on an old pool after the publisher stopped, before
        # the new pools exist: the listener fires with the registry still holding the old entries.
        events.connected("default")
        build_all(raise_errors)

    monkeypatch.setattr(registry, "build_all", connect_then_build)
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 5}
    monkeypatch.undo()
    assert publisher.current() is None  # none until the new pools connect...
    get_redis().ping()
    running = publisher.current()
    assert running is not None  # ...then one, on the new settings
    assert running.settings.interval == 5.0


def test_a_stalled_server_leaves_no_publisher_thread_stuck(settings: Any) -> None:
    """SIGSTOP: the server accepts nothing and answers nothing; the side client's timeouts bound it."""
    with RedisServer() as server:
        assert server.process is not None
        settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS}}
        settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 0.2}
        try:
            get_redis().ping()
            running = publisher.current()
            assert running is not None
            assert running.timeout == 0.5  # each socket operation of the publisher, at most
            assert wait_for(lambda: running.published >= 1)
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: running.failures >= 2, within=30)
                out = StringIO()
                with pytest.raises(CommandError):
                    call_command("redis_pool_status", "--no-server", "--timeout", "0.5", stdout=out)
                assert fleet_document(0.5)["error"].startswith("TimeoutError: Timeout")
                publisher.stop(forget=True)
                running.thread.join(10)
                assert running.thread.is_alive() is False
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
        finally:
            publisher.stop()


def _child_uses_its_pools(ready: Any) -> None:
    def work() -> None:
        loops.loop_pools("default")  # what the child's publisher reads every interval
        get_redis().ping()  # the child's first connection starts its publisher
        running = publisher.current()
        if running is not None and wait_for(lambda: running.published >= 1):
            ready.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(20)
    os._exit(0)


def test_a_child_forked_while_the_publisher_holds_locks_publishes(fleet: FleetSettings) -> None:
    """The parent's publisher thread takes the loops' lock and its own at every snapshot: a fork at that
    moment copies them taken, and the child must not wait for a thread it does not have."""
    get_redis().ping()
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    with loops._lock, publisher._lock:  # as the parent's publisher thread holds them mid-snapshot
        child = context.Process(target=_child_uses_its_pools, args=(ready,))
        child.start()
    child.join(30)
    assert ready.is_set() is True


def test_watch_on_a_narrow_terminal_cuts_its_lines_like_top(
    fleet: FleetSettings, real_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_snapshot(
        real_redis.admin(), fleet, good(4242, host="a-long-host-name.example.com"), time.time()
    )
    out = StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *args: os.terminal_size((50, 20)))
    call_command("redis_pool_status", "--watch", "1", "--frames", "1", "--no-server", stdout=out)
    lines = out.getvalue().removeprefix(redis_pool_status.CLEAR_SCREEN).splitlines()
    assert max(len(ESCAPE.sub("", line)) for line in lines) == 50
    assert any(line.startswith("    HOST ") for line in lines)


def test_fit_keeps_the_colours_and_cuts_the_text() -> None:
    red = "\x1b[31;1m" + "x" * 10 + "\x1b[0m"
    assert fit("  " + red, 6) == "  \x1b[31;1mxxxx\x1b[0m"
    assert fit("  " + red, None) == "  " + red
    assert fit("short", 50) == "short"


@pytest.mark.slow
def test_a_stalled_cluster_node_bounds_a_fleet_read_by_its_timeout(settings: Any) -> None:
    """RedisCluster retries with backoff and a new slot map each time: the side client must not, or a
    1 s read took 11 s (the status command's --timeout, a scrape's, the page's)."""
    require_binaries("redis-server", "redis-cli")
    with RedisClusterTopology() as cluster:
        settings.REDIS_POOL = {"default": {"CLUSTER": True, "URL": cluster.url, **SAFE_LIMITS}}
        settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
        fleet = get_fleet_settings()
        assert fleet is not None
        owner = cluster.processes[cluster.owner_of(cluster.key_slot(store.index_key(fleet)))]
        client = store.fleet_client(fleet, 1.0)
        os.kill(owner.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(redis.TimeoutError):
                store.read_fleet(client, fleet, time.time())
            assert time.monotonic() - started < 5.0
        finally:
            os.kill(owner.pid, signal.SIGCONT)
            store.close_client(client)


def test_a_publishing_process_running_the_status_command_is_not_flagged_for_its_own_snapshot() -> None:
    """call_command("redis_pool_status") in a process that publishes (a shell, an admin action): the
    server lists its connections as the command's own, and its snapshot must not be called orphaned."""
    mine = snapshot(5, pool(idle=1), host="web-1")
    server = [{"host": "web-1", "pid": 5, "connections": 1, "this_process": True}]
    view = fleet_view(Read([mine]), ["default"], {"default": server})["aliases"]["default"]
    assert (view["processes"][0]["flags"], view["processes"][0]["connections"]) == ([], 1)
    assert view["flagged"] == []


def test_one_failed_write_retries_after_one_interval_then_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot lives 3 intervals: retrying a single failed write only after 2 (and up to 10% later)
    let it expire, and its process vanish from the fleet and get flagged, for one blip."""
    running = publisher.Publisher(FleetSettings(alias="default", interval=10.0))

    def refused(settings: FleetSettings, timeout: float) -> Any:
        raise redis.ConnectionError("refused")

    monkeypatch.setattr(publisher, "fleet_client", refused)
    delays = [running.publish_once() for _ in range(5)]
    assert delays == [10.0, 20.0, 30.0, 30.0, 30.0]


def test_clocks_skewed_by_more_than_a_ttl_hide_no_process(
    fleet: FleetSettings, real_redis: RedisServer
) -> None:
    """Hosts' clocks differ: a writer whose clock runs ahead used to drop the others' live entries from
    the index at each write, and a reader whose clock runs ahead saw none. The keys' own TTL is the
    server's: it decides what is live."""
    now = time.time()
    client = real_redis.admin()
    store.write_snapshot(client, fleet, good(1, host="web-1"), now)
    ahead = now + fleet.ttl * 1.5  # web-2's clock runs 45 s ahead
    store.write_snapshot(client, fleet, {**good(2, host="web-2"), "published": ahead}, ahead)
    pids = [s["pid"] for s in store.read_fleet(client, fleet, now).snapshots]
    assert pids == [1, 2]
    assert [s["pid"] for s in store.read_fleet(client, fleet, now + 5 * fleet.ttl).snapshots] == [1, 2]
