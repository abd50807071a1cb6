"""The prometheus_client collector: pool counters per alias and the server's view per process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from django_redis_pool import get_async_redis, get_pool, get_redis, metrics
from django_redis_pool._pool.naming import local_host
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import NOLIST_PASSWORD, RedisServer, free_port


def scrape(**kwargs: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """generate_latest() of a registry holding only the collector, as {(sample, labels): value}."""
    registry = CollectorRegistry()
    metrics.register(registry, **kwargs)
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def pool_labels(
    alias: str = "default", node: str = "", driver: str = "sync", host: str = "", pid: int = 0
) -> tuple[tuple[str, str], ...]:
    """A pool series' labels, sorted as scrape() keys them; this process's host and pid by default."""
    host, pid = host or local_host(), pid or os.getpid()
    return (("alias", alias), ("driver", driver), ("host", host), ("node", node), ("pid", str(pid)))


def errors_of(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[tuple[str, str], float]:
    """django_redis_pool_scrape_errors as {(alias, read): value}."""
    return {
        (dict(labels)["alias"], dict(labels)["read"]): value
        for (name, labels), value in samples.items()
        if name == "django_redis_pool_scrape_errors"
    }


def test_pool_counters_and_gauges_per_alias(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS, "MAX_CONNECTIONS": 7}}
    get_redis().set("k", "v")
    held = checkout(get_pool())
    try:
        samples = scrape(server=False)
    finally:
        get_pool().release(held)
    labels = pool_labels()
    expected = {
        "django_redis_pool_in_use": 1.0,
        "django_redis_pool_idle": 0.0,
        "django_redis_pool_waiting": 0.0,
        "django_redis_pool_max_connections": 7.0,
        "django_redis_pool_peak_in_use": 1.0,
        "django_redis_pool_checkouts_total": 2.0,
        "django_redis_pool_waits_total": 0.0,
        "django_redis_pool_exhausted_total": 0.0,
        "django_redis_pool_connection_errors_total": 0.0,
        "django_redis_pool_connections_created_total": 1.0,
        "django_redis_pool_closed_for_age_total": 0.0,
        "django_redis_pool_closed_for_idle_total": 0.0,
        "django_redis_pool_leak_warnings_total": 0.0,
        "django_redis_pool_wait_p50_seconds": 0.0,
        "django_redis_pool_wait_p99_seconds": 0.0,
        "django_redis_pool_wait_seconds_total": 0.0,
    }
    assert {name: samples[(name, labels)] for name in expected} == expected
    assert not any(name.startswith("django_redis_pool_server") for name, _ in samples)


def test_exhaustion_and_waits_are_counted(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "MAX_CONNECTIONS": 1, "POOL_TIMEOUT": 0.05}}
    held = checkout(get_pool())
    try:
        with pytest.raises(Exception, match="exhausted"):
            get_redis().ping()
    finally:
        get_pool().release(held)
    samples = scrape(server=False)
    assert samples[("django_redis_pool_exhausted_total", pool_labels())] == 1.0
    assert samples[("django_redis_pool_waits_total", pool_labels())] == 1.0
    assert 0.04 < samples[("django_redis_pool_wait_seconds_total", pool_labels())] < 1.0
    assert samples[("django_redis_pool_wait_p99_seconds", pool_labels())] > 0.04


def test_the_server_lists_every_processes_pooled_connections(real_redis: RedisServer, settings: Any) -> None:
    get_redis().set("k", "v")
    # Another process with the same alias and prefix: a second worker, holding 2 connections.
    script = textwrap.dedent(
        f"""
        import redis, sys, time
        from django_redis_pool._pool.naming import format_client_name
        name = format_client_name("django_redis_pool", "default", {os.getpid() + 1_000_000})
        clients = [redis.Redis(port={real_redis.port}, client_name=name) for _ in range(2)]
        for c in clients: c.ping()
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n"
        samples = scrape()
    finally:
        worker.communicate("")
    host = local_host()
    server = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "django_redis_pool_server_connections"
    }
    assert server == {
        (("alias", "default"), ("host", host), ("pid", str(os.getpid()))): 1.0,
        (("alias", "default"), ("host", host), ("pid", str(os.getpid() + 1_000_000))): 2.0,
    }
    assert errors_of(samples) == {("default", "client_list"): 0.0}
    # The CLIENT LIST went through the pool: no connection of its own.
    assert samples[("django_redis_pool_connections_created_total", pool_labels())] == 1.0


def test_a_failed_client_list_is_a_metric_not_an_exception(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "nolist": {"URL": real_redis.url_for("nolist", NOLIST_PASSWORD), **SAFE_LIMITS},
        "down": {"URL": f"redis://127.0.0.1:{free_port()}/0", **SAFE_LIMITS},
        "fake": {"URL": "fakeredis://", "CLIENT_NAME": None},
    }
    get_redis("nolist").ping()
    samples = scrape(timeout=0.5)
    assert errors_of(samples) == {("down", "client_list"): 1.0, ("nolist", "client_list"): 1.0}
    # A NOPERM reply leaves the connection in step: it stays pooled.
    assert samples[("django_redis_pool_connections_created_total", pool_labels("nolist"))] == 1.0
    assert samples[("django_redis_pool_idle", pool_labels("nolist"))] == 1.0


def commands_sent(admin: redis.Redis) -> dict[str, int]:
    """Calls per command the server has answered, but INFO (this function's own), and connections."""
    calls = {
        name: value["calls"] for name, value in admin.info("commandstats").items() if name != "cmdstat_info"
    }
    return {**calls, "connections": admin.info("stats")["total_connections_received"]}


def test_register_sends_nothing_to_redis_the_first_scrape_does(
    real_redis: RedisServer, settings: Any
) -> None:
    # register() used to run collect() (prometheus_client's way of learning the names of a collector
    # without describe()), so every process start sent a CLIENT LIST.
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    admin = real_redis.admin()
    try:
        before = commands_sent(admin)
        registry = CollectorRegistry(auto_describe=True)  # as prometheus_client's default REGISTRY
        metrics.register(registry)
        assert commands_sent(admin) == before
        assert (get_pool().stats()["connections_created"], get_pool().stats()["checkouts"]) == (0, 0)
        generate_latest(registry)
        after = commands_sent(admin)
    finally:
        admin.close()
    assert after["cmdstat_client|list"] - before.get("cmdstat_client|list", 0) == 1
    assert after["cmdstat_zrangebyscore"] - before.get("cmdstat_zrangebyscore", 0) == 1  # the fleet index


def test_describe_names_every_family_that_collect_yields(real_redis: RedisServer) -> None:
    get_redis().ping()
    collector = metrics.PoolCollector()
    described = list(collector.describe())
    assert [(m.name, m.type) for m in described] == [(m.name, m.type) for m in collector.collect()]
    assert [m.samples for m in described] == [[]] * len(described)
    quiet = metrics.PoolCollector(server=False)
    assert [m.name for m in quiet.describe()] == [m.name for m in quiet.collect()]


def test_the_client_lists_of_a_scrape_share_one_timeout(settings: Any) -> None:
    # Three aliases on a server that accepts connections and never answers: the first CLIENT LIST
    # spends the scrape's whole budget, the other two are not even tried.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0"
        settings.REDIS_POOL = {alias: {"URL": url, **SAFE_LIMITS} for alias in ("a", "b", "c")}
        samples = scrape(timeout=0.3)
        listener.setblocking(False)
        attempts = 0
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            attempts += 1
    assert attempts == 1
    assert errors_of(samples) == {
        ("a", "client_list"): 1.0,
        ("b", "client_list"): 1.0,
        ("c", "client_list"): 1.0,
    }


def test_register_is_idempotent_per_registry() -> None:
    registry = CollectorRegistry()
    first = metrics.register(registry)
    assert metrics.register(registry) is first
    assert metrics.register(CollectorRegistry()) is not first


def test_cluster_nodes_are_labelled(redis_cluster: Any, settings: Any) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}
    get_redis("shards").set("k", "v")
    samples = scrape()
    nodes = {dict(labels)["node"] for name, labels in samples if name == "django_redis_pool_checkouts_total"}
    assert nodes == {f"127.0.0.1:{port}" for port in redis_cluster.ports}
    assert errors_of(samples) == {("shards", "client_list"): 0.0}
    pids = {dict(labels)["pid"] for name, labels in samples if name == "django_redis_pool_server_connections"}
    assert pids == {str(os.getpid())}


def test_asyncio_cluster_nodes_are_labelled(redis_cluster: Any, settings: Any) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}

    async def spread_and_scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        client = get_async_redis("shards")
        await asyncio.gather(*(client.set(f"spread:{n}", n) for n in range(30)))
        return scrape(server=False)

    samples = asyncio.run(spread_and_scrape())
    checkouts = {
        dict(labels)["node"]: value
        for (name, labels), value in samples.items()
        if name == "django_redis_pool_checkouts_total" and dict(labels)["driver"] == "asyncio"
    }
    assert sorted(checkouts) == sorted(f"127.0.0.1:{port}" for port in redis_cluster.ports)
    assert sum(checkouts.values()) == 31  # 30 SETs and redis-py reading the COMMAND table


def test_every_new_registry_gets_the_collector(settings: Any) -> None:
    # register() once keyed registries by id(): a new registry at a freed one's address got nothing.
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://"}}
    for _ in range(50):
        samples = scrape(server=False)
        assert samples[("django_redis_pool_max_connections", pool_labels())] == 50.0


def test_asyncio_pools_are_exported_with_the_asyncio_driver_label(real_redis: RedisServer) -> None:
    # A uvicorn worker holding asyncio connections used to scrape as in_use 0: its pools were unseen.
    async def hold_one_and_scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        client = get_async_redis()
        await client.ping()
        pool = client.connection_pool
        held = await pool.get_connection()
        try:
            return scrape(server=False)
        finally:
            await pool.release(held)

    samples = asyncio.run(hold_one_and_scrape())
    labels = pool_labels(driver="asyncio")
    assert {
        name: samples[(f"django_redis_pool_{name}", labels)]
        for name in ("in_use", "idle", "checkouts_total", "connections_created_total", "wait_p99_seconds")
    } == {
        "in_use": 1.0,
        "idle": 0.0,
        "checkouts_total": 2.0,
        "connections_created_total": 1.0,
        "wait_p99_seconds": 0.0,
    }
    assert samples[("django_redis_pool_in_use", pool_labels())] == 0.0  # the sync pool, beside it


def test_an_open_circuit_breaker_is_exported(settings: Any) -> None:
    settings.REDIS_POOL = {
        "down": {
            "URL": f"redis://127.0.0.1:{free_port()}/0",
            **SAFE_LIMITS,
            "OPTIONS": {"retry": None},
            "CIRCUIT_BREAKER": {"FAILURES": 2},
        }
    }
    for _ in range(3):
        with pytest.raises(redis.exceptions.ConnectionError):
            get_redis("down").ping()
    samples = scrape(server=False)
    labels = pool_labels("down")
    assert samples[("django_redis_pool_breaker_open", labels)] == 1.0
    assert samples[("django_redis_pool_breaker_opened_total", labels)] == 1.0
    assert samples[("django_redis_pool_breaker_refused_total", labels)] == 1.0
    assert samples[("django_redis_pool_connection_errors_total", labels)] == 2.0
