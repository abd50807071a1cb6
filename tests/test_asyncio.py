"""asyncio pools against the real redis-server: one pool per alias and event loop."""

from __future__ import annotations

import asyncio
import json
import logging
from io import StringIO
from typing import Any

import pytest
import redis.asyncio
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command

from django_redis_pool import PoolExhaustedError, aclose_pools, get_async_redis, get_redis, get_stats
from django_redis_pool._pool.async_driver import AsyncPool
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import RedisServer
from tests.support.topologies import RedisClusterTopology, SentinelTopology


def use(settings: Any, server: RedisServer, **config: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS, **config}}


def pooled_on_server(server: RedisServer) -> int:
    return sum(
        1 for c in server.admin().client_list() if str(c.get("name", "")).startswith("django_redis_pool:")
    )


def test_one_client_per_loop_and_never_across_loops(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)

    async def work() -> tuple[Any, Any]:
        client = get_async_redis()
        assert get_async_redis() is client
        await client.set("async", "yes")
        return client, await client.get("async")

    first, value = asyncio.run(work())
    second, _ = asyncio.run(work())
    assert value == b"yes"
    assert isinstance(first, redis.asyncio.Redis)
    assert isinstance(first.connection_pool, AsyncPool)
    assert first is not second


def test_many_event_loops_leak_no_connection(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)
    before = pooled_on_server(redis_server)

    async def work(n: int) -> None:
        client = get_async_redis()
        await asyncio.gather(*(client.incr(f"loops:{n}") for _ in range(5)))

    for n in range(20):
        asyncio.run(work(n))
        # asyncio.run shut the loop's async generators down, and with them its pools.
        assert pooled_on_server(redis_server) == before
    assert int(get_redis().get("loops:19")) == 5


def test_concurrent_tasks_are_bounded_by_max_connections(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=4)

    async def work() -> dict[str, Any]:
        client = get_async_redis()
        await asyncio.gather(*(client.incr("bounded") for _ in range(200)))
        connections = pooled_on_server(redis_server)
        stats = get_stats("default")["async"]
        return {"connections": connections, **stats}

    result = asyncio.run(work())
    assert int(get_redis().get("bounded")) == 200
    assert result["connections"] <= 4
    assert (result["peak_in_use"], result["checkouts"], result["in_use"], result["loops"]) == (4, 200, 0, 1)
    assert result["waits"] > 0


def test_asyncio_stats_have_the_keys_and_types_of_the_sync_stats(
    redis_server: RedisServer, settings: Any
) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1, LEAK_WARNING=60)

    async def work() -> dict[str, Any]:
        client = get_async_redis()
        held = await client.connection_pool.get_connection()
        waiter = asyncio.ensure_future(client.get("k"))
        await asyncio.sleep(0.01)
        stats = get_stats("default")["async"]
        await client.connection_pool.release(held)
        await waiter
        return {"while_held": stats, "after": get_stats("default")["async"]}

    result = asyncio.run(work())
    held, after = result["while_held"], result["after"]
    sync = get_stats("default")
    assert [key for key in after if key != "loops"] == [key for key in sync if key != "async"]
    assert {
        key: type(value) for key, value in after.items() if key not in ("loops", "oldest_checkout_age_s")
    } == {key: type(value) for key, value in sync.items() if key not in ("async", "oldest_checkout_age_s")}
    assert (held["in_use"], held["waiting"], held["oldest_checkout_age_s"] >= 0.01) == (1, 1, True)
    assert (after["waits"], after["wait_ms_p50"] >= 10.0, after["oldest_checkout_age_s"]) == (1, True, None)


def test_waiting_tasks_are_served_first_come_first_served(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1)

    async def work() -> list[int]:
        pool = get_async_redis().connection_pool
        held = await pool.get_connection()
        order: list[int] = []

        async def waiter(n: int) -> None:
            connection = await pool.get_connection()
            order.append(n)
            await pool.release(connection)

        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(waiter(n)))
            await asyncio.sleep(0)  # let it queue
        await pool.release(held)
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(work()) == [0, 1, 2, 3, 4, 5]


def test_a_full_pool_raises_pool_exhausted_after_pool_timeout(
    redis_server: RedisServer, settings: Any
) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1, POOL_TIMEOUT=0.05)

    async def work() -> tuple[str, int]:
        pool = get_async_redis().connection_pool
        held = await pool.get_connection()
        with pytest.raises(PoolExhaustedError) as info:
            await get_async_redis().get("k")
        await pool.release(held)
        assert await get_async_redis().get("k") is None
        return str(info.value), pool.stats()["exhausted"]

    message, exhausted = asyncio.run(work())
    assert message.startswith(
        "Redis pool 'default' is exhausted: all MAX_CONNECTIONS=1 connections are in use"
    )
    assert exhausted == 1


def test_a_non_blocking_async_pool_raises_at_once(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "MAX_CONNECTIONS": 1, "BLOCKING": False}}

    async def work() -> int:
        pool = get_async_redis().connection_pool
        held = await pool.get_connection()
        with pytest.raises(PoolExhaustedError, match="'BLOCKING': False"):
            await get_async_redis().get("k")
        await pool.release(held)
        return pool.stats()["waits"]

    assert asyncio.run(work()) == 0


def test_async_to_sync_and_sync_to_async_boundaries(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)

    async def write() -> None:
        await get_async_redis().set("boundary", "async")
        # Sync code called from async code uses the sync pool, in a worker thread.
        assert await sync_to_async(get_redis().get)("boundary") == b"async"

    for _ in range(3):
        async_to_sync(write)()
    assert get_redis().get("boundary") == b"async"


def test_outside_an_event_loop_the_error_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"get_async_redis\(\) needs a running event loop"):
        get_async_redis()


def test_aclose_pools_closes_the_running_loops_pools(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)

    async def work() -> tuple[int, int]:
        await get_async_redis().ping()
        opened = pooled_on_server(redis_server)
        await aclose_pools()
        return opened, pooled_on_server(redis_server)

    opened, after = asyncio.run(work())
    assert opened - after == 1


def test_fakeredis_alias_shares_data_between_sync_and_async(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis:///2"}}
    get_redis().set("shared", "sync")

    async def work() -> Any:
        return await get_async_redis().get("shared")

    assert asyncio.run(work()) == b"sync"


def test_async_leak_warning_names_the_task(
    redis_server: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use(settings, redis_server, LEAK_WARNING=0.05)

    async def work() -> None:
        pool = get_async_redis().connection_pool
        held = await pool.get_connection()
        await asyncio.sleep(0.08)
        await pool.release(held)

    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        asyncio.run(work())
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "Redis pool 'default' (asyncio): a connection was released after 0."
    )
    assert "in work" in record.getMessage()


def test_status_and_get_stats_include_the_async_pools(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)

    async def work() -> dict[str, Any]:
        client = get_async_redis()
        await asyncio.gather(*(client.ping() for _ in range(10)))
        out = StringIO()
        await sync_to_async(call_command)("redis_pool_status", "--format", "json", "--no-server", stdout=out)
        return json.loads(out.getvalue())["pools"]["default"]["stats"]

    stats = asyncio.run(work())
    assert stats["async"]["loops"] == 1
    assert stats["async"]["checkouts"] == 10
    assert "async" not in get_stats("default")  # that loop is gone, and its pools with it


def test_a_sentinel_alias_on_asyncio(sentinel_topology: SentinelTopology, settings: Any) -> None:
    settings.REDIS_POOL = {
        "ha": {"SENTINELS": sentinel_topology.sentinels, "SERVICE_NAME": sentinel_topology.service_name}
    }

    async def work() -> Any:
        client = get_async_redis("ha")
        await client.set("async-ha", "yes")
        return type(client.connection_pool).__name__

    assert asyncio.run(work()) == "AsyncSentinelPool"
    assert sentinel_topology.admin(sentinel_topology.master_port()).get("async-ha") == "yes"


def test_a_cluster_alias_on_asyncio(redis_cluster: RedisClusterTopology, settings: Any) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}

    async def work() -> list[Any]:
        client = get_async_redis("shards")
        await asyncio.gather(*(client.set(f"async:{i}", i) for i in range(30)))
        return await asyncio.gather(*(client.get(f"async:{i}") for i in range(30)))

    assert [int(v) for v in asyncio.run(work())] == list(range(30))


def test_a_fakeredis_alias_with_health_checks_works_on_asyncio(settings: Any) -> None:
    # fakeredis's asyncio connection fails redis-py's health-check PING: the example project's
    # async view hung in its retries until the fake pool stopped asking for health checks.
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "HEALTH_CHECK_INTERVAL": 30}}

    async def work() -> Any:
        return await asyncio.wait_for(get_async_redis().incr("hc"), 2)

    assert asyncio.run(work()) == 1
