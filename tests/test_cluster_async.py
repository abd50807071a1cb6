"""asyncio Cluster aliases against the real 3-master Redis Cluster: each node on one of our pools."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio.cluster import ClusterNode

from django_redis_pool import PoolExhaustedError, get_async_redis, get_stats
from django_redis_pool._pool.counters import STATS_KEYS
from django_redis_pool._pool.naming import local_host
from django_redis_pool._registry import loops
from django_redis_pool._topology.cluster_nodes import NodePools, pooled_nodes_manager
from tests.conftest import SAFE_LIMITS
from tests.support.topologies import RedisClusterTopology

QUEUE = "{fifo}queue"  # the hash tag puts every key of these tests on one node
ORDER = "{fifo}order"


@pytest.fixture
def shards(redis_cluster: RedisClusterTopology, settings: Any) -> RedisClusterTopology:
    redis_cluster.flushall()
    use(settings, redis_cluster, MAX_CONNECTIONS=1)
    return redis_cluster


def use(settings: Any, cluster: RedisClusterTopology, **config: Any) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": cluster.url, **SAFE_LIMITS, **config}}


def node_of(shards: RedisClusterTopology, key: str) -> str:
    return f"127.0.0.1:{shards.owner_of(shards.key_slot(key))}"


def async_stats() -> dict[str, Any]:
    stats: dict[str, Any] = get_stats("shards")["async"]
    return stats


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (each pass lets every ready task run once)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def waiting(count: int) -> Callable[[], bool]:
    return lambda: async_stats()["waiting"] == count


async def holding_the_node(shards: RedisClusterTopology, then: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``then()`` while a BLPOP holds the node's only connection, and end the BLPOP after it."""
    client = get_async_redis("shards")
    await client.set(ORDER + ":warm", 1)  # reads the slot map; the node's pool has its connection
    holder = asyncio.ensure_future(client.blpop([QUEUE], 0))
    await until(lambda: async_stats()["in_use"] == 1)
    try:
        return await then()
    finally:
        shards.admin(shards.owner_of(shards.key_slot(QUEUE))).rpush(QUEUE, "go")
        await holder


def test_a_node_serves_its_waiting_callers_in_arrival_order(shards: RedisClusterTopology) -> None:
    async def queue_five() -> list[Any]:
        client = get_async_redis("shards")
        callers = []
        for n in range(5):
            callers.append(asyncio.ensure_future(client.rpush(ORDER, n)))
            await until(waiting(n + 1))
        return callers

    async def work() -> tuple[list[Any], dict[str, Any]]:
        callers = await holding_the_node(shards, queue_five)
        await asyncio.gather(*callers)
        return await get_async_redis("shards").lrange(ORDER, 0, -1), async_stats()

    order, stats = asyncio.run(work())
    assert order == [b"0", b"1", b"2", b"3", b"4"]
    node = stats["nodes"][node_of(shards, ORDER)]
    assert (node["waits"], node["exhausted"], node["max_connections"], node["in_use"]) == (5, 0, 1, 0)


def test_a_node_busy_past_pool_timeout_raises_and_counts_exhaustion(
    shards: RedisClusterTopology, settings: Any
) -> None:
    use(settings, shards, MAX_CONNECTIONS=1, POOL_TIMEOUT=0.2)

    async def one_more() -> PoolExhaustedError:
        with pytest.raises(PoolExhaustedError) as info:
            await get_async_redis("shards").rpush(ORDER, "late")
        return info.value

    async def work() -> tuple[PoolExhaustedError, dict[str, Any], Any]:
        error = await holding_the_node(shards, one_more)
        return error, async_stats(), await get_async_redis("shards").llen(ORDER)

    error, stats, length = asyncio.run(work())
    assert str(error).startswith(
        "Redis pool 'shards' is exhausted: all MAX_CONNECTIONS=1 connections are in use and the caller "
        "waited POOL_TIMEOUT=0.2s"
    )
    assert length == 0  # the command never ran
    node = stats["nodes"][node_of(shards, ORDER)]
    assert (node["exhausted"], node["waits"], node["in_use"]) == (1, 1, 0)
    assert stats["exhausted"] == 1


def test_every_node_reports_stats_with_one_pools_keys(shards: RedisClusterTopology, settings: Any) -> None:
    use(settings, shards, MAX_CONNECTIONS=4)

    async def work() -> dict[str, Any]:
        client = get_async_redis("shards")
        await asyncio.gather(*(client.set(f"spread:{n}", n) for n in range(60)))
        async with client.pipeline() as pipe:
            for n in range(60):
                pipe.get(f"spread:{n}")
            assert await pipe.execute() == [str(n).encode() for n in range(60)]
        return async_stats()

    stats = asyncio.run(work())
    nodes = stats["nodes"]
    assert sorted(nodes) == sorted(f"127.0.0.1:{port}" for port in shards.ports)
    assert [key for key in stats if key not in ("loops", "nodes")] == list(STATS_KEYS)
    assert all(list(node) == list(STATS_KEYS) for node in nodes.values())
    assert (stats["loops"], stats["max_connections"], stats["in_use"]) == (1, 12, 0)
    # 60 SETs, one pipeline per node, and redis-py reading the COMMAND table from the default node.
    assert stats["checkouts"] == sum(node["checkouts"] for node in nodes.values())
    assert stats["checkouts"] == 64
    assert all(node["max_connections"] == 4 for node in nodes.values())


def test_loop_shutdown_closes_every_node_connection(shards: RedisClusterTopology) -> None:
    async def work() -> int:
        client = get_async_redis("shards")
        await asyncio.gather(*(client.set(f"closing:{n}", n) for n in range(30)))
        return int(async_stats()["connections_created"])

    def pooled() -> int:
        return sum(
            1
            for port in shards.ports
            for c in shards.admin(port).client_list()
            if str(c.get("name", "")).startswith("django_redis_pool:shards:")
        )

    assert asyncio.run(work()) == 3  # one connection per node: MAX_CONNECTIONS is 1
    assert pooled() == 0


def test_a_moved_slot_is_followed_on_pooled_nodes(shards: RedisClusterTopology, settings: Any) -> None:
    use(settings, shards, MAX_CONNECTIONS=2)
    key = "async-moving-key"

    async def work() -> tuple[Any, Any, dict[str, Any]]:
        client = get_async_redis("shards")
        await client.set(key, "before")
        slot = shards.key_slot(key)
        old_owner = shards.owner_of(slot)
        new_owner = next(port for port in shards.ports if port != old_owner)
        shards.migrate_slot(slot, new_owner)
        try:
            got = await client.get(key)  # MOVED, followed by redis-py
            await client.set(key, "after")
            return got, shards.admin(new_owner).get(key), async_stats()
        finally:
            shards.migrate_slot(slot, old_owner)

    got, stored, stats = asyncio.run(work())
    assert (got, stored) == (b"before", "after")
    assert (stats["in_use"], stats["exhausted"]) == (0, 0)


def test_node_pools_take_the_alias_settings_and_name_their_connections(
    shards: RedisClusterTopology, settings: Any
) -> None:
    settings.REDIS_POOL = {
        "shards": {
            "CLUSTER": True,
            "URL": shards.url,
            "SOCKET_TIMEOUT": 5,
            "BLOCKING": False,
            **{"MAX_CONNECTIONS": 3, "MAX_LIFETIME": 300, "MAX_IDLE": 60, "LEAK_WARNING": 30},
        }
    }

    async def work() -> tuple[list[tuple[Any, ...]], list[str]]:
        await get_async_redis("shards").set(ORDER, 1)
        (node_pools,) = loops.loop_pools("shards")
        assert isinstance(node_pools, NodePools)
        pool = node_pools.pools[node_of(shards, ORDER)]
        names = [c["name"] for c in shards.admin(shards.owner_of(shards.key_slot(ORDER))).client_list()]
        return [
            (pool.alias, pool.max_connections, pool.blocking, pool.timeout),
            (pool.max_lifetime, pool.max_idle, pool.leak_warning),
        ], names

    described, names = asyncio.run(work())
    assert described == [("shards", 3, False, None), (300, 60, 30)]
    assert f"django_redis_pool:shards:{local_host()}:{os.getpid()}" in names


def test_a_connection_taken_outside_execute_command_stays_redis_pys() -> None:
    # redis-py 8's cluster transactions call acquire_connection() and release() themselves.
    node_pools = NodePools({"alias": "shards", "max_connections": 2})
    node = pooled_nodes_manager(node_pools).node_class("127.0.0.1", 7000)
    pool = node_pools.pool(node)  # builds the node's pool, opens nothing
    connection = node.acquire_connection()  # builds a connection of redis-py's, opens nothing
    assert (node._connections, pool.checked_out(connection), pool.stats()["checkouts"]) == (
        [connection],
        False,
        0,
    )
    if hasattr(ClusterNode, "release"):  # redis-py 5.0 has no release(): it appends to _free
        node.release(connection)
        assert list(node._free) == [connection]
