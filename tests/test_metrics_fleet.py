"""The collector exports the fleet: one scrape of any process shows every process's pools, read from the
snapshots they publish (REDIS_POOL_FLEET), against a real redis-server."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest

from django_redis_pool import PoolExhaustedError, get_pool, get_redis, metrics
from django_redis_pool._conf.fleet import get_fleet_settings
from django_redis_pool._fleet import publisher, store
from django_redis_pool._fleet.snapshot import process_started
from django_redis_pool._pool.naming import local_host
from django_redis_pool.metrics import fleet_processes, readable
from tests.conftest import SAFE_LIMITS, checkout
from tests.contract.expected import COUNTS, DURATIONS
from tests.support.redis_server import RedisServer, free_port
from tests.support.topologies import wait_until
from tests.test_metrics import errors_of, pool_labels, scrape

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def stats(**values: Any) -> dict[str, Any]:
    """A pool's stats as a snapshot holds them: every key, 0 unless given."""
    base: dict[str, Any] = dict.fromkeys(COUNTS, 0) | dict.fromkeys(DURATIONS, 0.0)
    return {**base, "oldest_checkout_age_s": None, "breaker_state": "closed", **values}


def snapshot(
    host: str, pid: int, published: float, pools: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "schema": 1,
        "host": host,
        "pid": pid,
        "started": extra.pop("started", 1764680000.25),
        "role": "gunicorn",
        "version": "0.9.0",
        "published": published,
        "interval": 10.0,
        "pools": pools,
        **extra,
    }


def pool(alias: str = "default", node: str = "", driver: str = "sync", **values: Any) -> dict[str, Any]:
    return {"alias": alias, "node": node, "driver": driver, "stats": stats(**values)}


def publish(server: RedisServer, *documents: dict[str, Any], now: float) -> None:
    settings = get_fleet_settings()
    assert settings is not None
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        for document in documents:
            store.write_snapshot(client, settings, document, now)
    finally:
        client.close()


def series(samples: Samples, name: str) -> dict[tuple[str, ...], float]:
    """One pool family as {(host, pid, alias, node, driver): value}."""
    return {
        tuple(dict(labels)[key] for key in ("host", "pid", "alias", "node", "driver")): value
        for (sample, labels), value in samples.items()
        if sample == name
    }


@pytest.fixture
def fleet(real_redis: RedisServer, settings: Any) -> Iterator[RedisServer]:
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    yield real_redis
    publisher.stop()


@pytest.fixture
def unpublished() -> Iterator[None]:
    """This process publishes nothing meanwhile: its own row comes from its live stats."""
    with publisher.suppressed():
        yield


@pytest.mark.usefixtures("unpublished")
def test_one_scrape_exports_every_published_process(fleet: RedisServer) -> None:
    get_redis().set("k", "v")  # this process: one checkout on its live pool
    now = time.time()
    me = local_host(), os.getpid()
    publish(
        fleet,
        snapshot(
            "web-2",
            101,
            now - 4,
            [
                pool(
                    in_use=3,
                    idle=2,
                    max_connections=5,
                    checkouts=1000,
                    waits=7,
                    exhausted=2,
                    wait_ms_total=1500.0,
                    wait_ms_p99=250.0,
                )
            ],
        ),
        snapshot("web-2", 102, now - 1, [pool(driver="asyncio", in_use=1, checkouts=40, loops=2)]),
        # A former process with this process's pid: left out, this one's live stats stand in.
        snapshot(me[0], me[1], now - 2, [pool(in_use=99, checkouts=99)], started=1.0),
        # Another schema version (a rolling upgrade): skipped and counted.
        snapshot("web-3", 103, now - 1, [pool(in_use=5)], schema=2),
        # Schema 1 but without the counters (written by hand, or by a broken version): skipped too.
        snapshot("web-4", 104, now - 1, [{"alias": "default", "node": "", "driver": "sync", "stats": {}}]),
        now=now,
    )
    samples = scrape()
    mine = (me[0], str(me[1]), "default", "", "sync")
    assert series(samples, "django_redis_pool_in_use") == {
        mine: 0.0,
        ("web-2", "101", "default", "", "sync"): 3.0,
        ("web-2", "102", "default", "", "asyncio"): 1.0,
    }
    checkouts = series(samples, "django_redis_pool_checkouts_total")
    assert checkouts[("web-2", "101", "default", "", "sync")] == 1000.0
    assert checkouts[("web-2", "102", "default", "", "asyncio")] == 40.0
    assert checkouts[mine] >= 1.0  # live, never the former process's 99
    web2 = pool_labels(host="web-2", pid=101)
    assert {
        name: samples[(f"django_redis_pool_{name}", web2)]
        for name in (
            "idle",
            "max_connections",
            "waits_total",
            "exhausted_total",
            "wait_seconds_total",
            "wait_p99_seconds",
        )
    } == {
        "idle": 2.0,
        "max_connections": 5.0,
        "waits_total": 7.0,
        "exhausted_total": 2.0,
        "wait_seconds_total": 1.5,
        "wait_p99_seconds": 0.25,
    }
    ages = {
        dict(labels)["pid"]: value
        for (name, labels), value in samples.items()
        if name == "django_redis_pool_fleet_snapshot_age_seconds"
    }
    assert sorted(ages) == sorted(["101", "102", str(me[1])])
    assert ages[str(me[1])] == 0.0
    assert 4.0 <= ages["101"] < 4.0 + 30  # read a moment after publishing, never before
    assert samples[("django_redis_pool_fleet_snapshots_skipped", ())] == 2.0
    assert errors_of(samples) == {("default", "client_list"): 0.0, ("default", "fleet"): 0.0}


def test_a_failing_fleet_read_is_a_scrape_error_and_this_process_is_still_exported(
    real_redis: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    password = "fleet-s3cret"
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, **SAFE_LIMITS},
        "fleet": {"URL": f"redis://:{password}@127.0.0.1:{free_port()}/0", **SAFE_LIMITS},
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "fleet", "INTERVAL": 10}
    get_redis().set("k", "v")
    with caplog.at_level(logging.WARNING, logger="django_redis_pool.metrics"):
        first = scrape(timeout=0.5)
        second = scrape(timeout=0.5)
    for samples in (first, second):
        assert errors_of(samples) == {
            ("default", "client_list"): 0.0,
            ("fleet", "client_list"): 1.0,
            ("fleet", "fleet"): 1.0,
        }
        assert samples[("django_redis_pool_in_use", pool_labels())] == 0.0
        assert samples[("django_redis_pool_checkouts_total", pool_labels())] >= 1.0
    # Each scrape has a fresh collector: one warning each; a collector kept warns once per outage.
    warnings = [r.getMessage() for r in caplog.records if r.name == "django_redis_pool.metrics"]
    assert len(warnings) == 2
    assert warnings[0].startswith("Metrics could not read the fleet from 'fleet': ConnectionError: ")
    assert password not in " ".join(warnings)


def test_a_kept_collector_warns_once_per_outage(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.REDIS_POOL = {"fleet": {"URL": f"redis://127.0.0.1:{free_port()}/0", **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "fleet", "INTERVAL": 10}
    registry = CollectorRegistry()
    metrics.register(registry, server=False, timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool.metrics"):
        for _ in range(3):
            assert b'django_redis_pool_scrape_errors{alias="fleet",read="fleet"} 1.0' in generate_latest(
                registry
            )
    assert len([r for r in caplog.records if r.name == "django_redis_pool.metrics"]) == 1


def test_without_a_fleet_only_this_process_is_exported(real_redis: RedisServer) -> None:
    get_redis().set("k", "v")
    samples = scrape()
    assert list(series(samples, "django_redis_pool_in_use")) == [
        (local_host(), str(os.getpid()), "default", "", "sync")
    ]
    assert errors_of(samples) == {("default", "client_list"): 0.0}
    assert not any(name == "django_redis_pool_fleet_snapshot_age_seconds" for name, _ in samples)


def test_this_process_is_exported_from_its_own_snapshot_once_it_published(fleet: RedisServer) -> None:
    # A scrape through a load balancer reaches any worker: every worker must show the same numbers for
    # a process, or a counter would go backwards from one scrape to the next.
    now = time.time()
    me = local_host(), os.getpid()
    publish(
        fleet,
        snapshot(me[0], me[1], now - 3, [pool(in_use=2, checkouts=77)], started=process_started()),
        now=now,
    )
    samples = scrape(server=False)  # no CLIENT LIST: no pool connection, so no publisher to overwrite it
    assert series(samples, "django_redis_pool_checkouts_total") == {
        (me[0], str(me[1]), "default", "", "sync"): 77.0
    }
    (age,) = [v for (name, _), v in samples.items() if name == "django_redis_pool_fleet_snapshot_age_seconds"]
    assert 3.0 <= age < 3.0 + 30


def test_the_publishers_snapshot_of_this_process_is_what_a_scrape_exports(fleet: RedisServer) -> None:
    pool_ = get_pool()
    held = checkout(pool_)  # the first connection starts the publisher, which publishes at once
    try:
        running = publisher.current()
        assert running is not None
        wait_until(lambda: running.published >= 1, 10, "the first snapshot")
    finally:
        pool_.release(held)
    samples = scrape(server=False)
    # Published while the connection was held; the live pool has it back.
    assert pool_.stats()["in_use"] == 0
    assert series(samples, "django_redis_pool_in_use") == {
        (local_host(), str(os.getpid()), "default", "", "sync"): 1.0
    }


def _worker(exhaust: bool, published: Any, done: Any) -> None:
    if exhaust:  # MAX_CONNECTIONS 1: hold it, and the next checkout gives up
        pool_ = get_pool()
        held = checkout(pool_)
        with contextlib.suppress(PoolExhaustedError):
            get_redis().ping()
        pool_.release(held)
    else:
        for n in range(5):
            get_redis().set(f"worker:{n}", n)
    running = publisher.current()
    # Two more snapshots: one begun before the last command may still have been in flight.
    if running is not None:
        after = running.published + 2
        if wait_until(lambda: running.published >= after, 10, "two more snapshots"):
            published.set()
    done.wait(30)
    os._exit(0)


def test_one_scrape_shows_the_pools_of_forked_workers(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, **SAFE_LIMITS, "MAX_CONNECTIONS": 1, "POOL_TIMEOUT": 0.05}
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 0.2}
    context = multiprocessing.get_context("fork")
    done = context.Event()
    workers = {}
    for exhaust in (False, True):
        published = context.Event()
        worker = context.Process(target=_worker, args=(exhaust, published, done))
        worker.start()
        workers[exhaust] = (worker, published)
    try:
        assert [published.wait(30) for _, published in workers.values()] == [True, True]
        samples = scrape(server=False)
    finally:
        done.set()
        for worker, _ in workers.values():
            worker.join(30)
    host = local_host()
    busy, queued = (str(workers[exhaust][0].pid) for exhaust in (False, True))
    checkouts = series(samples, "django_redis_pool_checkouts_total")
    assert sorted(pid for _, pid, *_ in checkouts) == sorted([busy, queued, str(os.getpid())])
    assert checkouts[(host, busy, "default", "", "sync")] == 5.0
    assert checkouts[(host, queued, "default", "", "sync")] == 1.0
    assert series(samples, "django_redis_pool_exhausted_total")[(host, queued, "default", "", "sync")] == 1.0
    assert series(samples, "django_redis_pool_waits_total")[(host, queued, "default", "", "sync")] == 1.0
    assert series(samples, "django_redis_pool_exhausted_total")[(host, busy, "default", "", "sync")] == 0.0
    publisher.stop()


def test_one_process_per_host_and_pid_the_newest_snapshot() -> None:
    old = snapshot("web-1", 7, 100.0, [pool(in_use=1)], started=10.0)
    new = snapshot("web-1", 7, 105.0, [pool(in_use=2)], started=50.0)
    other = snapshot("web-0", 9, 101.0, [pool(in_use=3)])
    published = snapshot("me", 1, 200.0, [pool(in_use=4)], started=5.0)
    former = snapshot("me", 1, 190.0, [pool(in_use=5)], started=4.0)
    live = {"host": "me", "pid": 1, "started": 5.0, "age_s": 0.0, "pools": []}
    assert fleet_processes([new, published, old, other], live) == [published, other, new]
    assert fleet_processes([old, new, former], live) == [live, new]


def test_a_snapshot_the_metrics_cannot_read_is_not_readable() -> None:
    good = snapshot("web-1", 7, 100.0, [pool(in_use=1)], age_s=1.0)
    assert readable(good) is True
    assert readable({**good, "pid": "seven"}) is False
    assert (
        readable({**good, "pools": [{"alias": "default", "node": "", "driver": "sync", "stats": {}}]})
        is False
    )
    assert readable({**good, "pools": [pool(in_use="many")]}) is False
    assert readable({key: value for key, value in good.items() if key != "age_s"}) is False
