"""Cluster aliases against a real 3-master Redis Cluster the suite starts."""

from __future__ import annotations

import json
import os
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import call_command
from redis.cluster import RedisCluster

from django_redis_pool import NoSinglePoolError, get_pool, get_redis, get_stats
from django_redis_pool._pool.counters import STATS_KEYS
from django_redis_pool._pool.naming import local_host
from django_redis_pool._registry import sync as registry
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import free_port
from tests.support.topologies import RedisClusterTopology


@pytest.fixture
def shards(redis_cluster: RedisClusterTopology, settings: Any) -> RedisClusterTopology:
    redis_cluster.flushall()
    settings.REDIS_POOL = {
        "shards": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS, "MAX_CONNECTIONS": 4}
    }
    return redis_cluster


def test_keys_across_all_slots_reach_every_node(shards: RedisClusterTopology) -> None:
    client = get_redis("shards")
    assert isinstance(client, RedisCluster)
    assert get_redis("shards") is client
    for i in range(300):
        client.set(f"key:{i}", i)
    assert [int(client.get(f"key:{i}")) for i in range(300)] == list(range(300))
    sizes = [shards.admin(port).dbsize() for port in shards.ports]
    assert sum(sizes) == 300
    assert min(sizes) > 0


def test_every_node_gets_a_bounded_named_pool_of_ours_with_stats(shards: RedisClusterTopology) -> None:
    client = get_redis("shards")
    for i in range(60):
        client.set(f"s:{i}", i)
    stats = get_stats("shards")
    nodes = stats["nodes"]
    assert sorted(nodes) == sorted(f"127.0.0.1:{port}" for port in shards.ports)
    assert all(node["checkouts"] > 0 and node["max_connections"] == 4 for node in nodes.values())
    assert stats["checkouts"] == sum(node["checkouts"] for node in nodes.values())
    assert stats["max_connections"] == 12
    # The same keys and types as one pool's: percentiles over every node's waits, 0.0 without any.
    assert [key for key in stats if key != "nodes"] == list(STATS_KEYS)
    assert (stats["wait_ms_p50"], stats["wait_ms_p99"], stats["wait_ms_window_max"]) == (0.0, 0.0, 0.0)
    pools = registry.get_entry("shards").node_pools()
    assert {type(pool).__name__ for pool in pools.values()} == {"ClusterBlockingPool"}
    with pytest.raises(NoSinglePoolError) as info:
        get_pool("shards")
    assert str(info.value) == (
        "REDIS_POOL['shards'] is a Cluster alias: it has one pool per node, so get_pool('shards') has no "
        "single pool to return. Use get_redis('shards') for its client and get_stats('shards') for its "
        "counters (each node's under 'nodes')."
    )
    name = f"django_redis_pool:shards:{local_host()}:{os.getpid()}"
    for port in shards.ports:
        names = [c["name"] for c in shards.admin(port).client_list()]
        assert name in names


def test_a_moved_slot_is_followed(shards: RedisClusterTopology) -> None:
    client = get_redis("shards")
    key = "moving-key"
    client.set(key, "before")
    slot = shards.key_slot(key)
    old_owner = shards.owner_of(slot)
    new_owner = next(port for port in shards.ports if port != old_owner)
    shards.migrate_slot(slot, new_owner)
    try:
        with pytest.raises(redis.ResponseError) as info:
            shards.admin(old_owner).get(key)
        # redis-py 5.0 keeps the word MOVED in the message; later versions raise MovedError without it.
        assert str(info.value).endswith(f"{slot} 127.0.0.1:{new_owner}")
        assert client.get(key) == b"before"  # MOVED, followed by redis-py
        assert client.set(key, "after") is True
        assert shards.admin(new_owner).get(key) == "after"
    finally:
        shards.migrate_slot(slot, old_owner)


def test_a_cluster_alias_does_not_connect_at_startup(settings: Any) -> None:
    port = free_port()  # nothing listens there
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": f"redis://127.0.0.1:{port}/0", **SAFE_LIMITS}}
    entry = registry.get_entry("shards")  # built: settings and pool arguments checked, no I/O
    assert (entry.kind, entry.node_pools(), get_stats("shards")["checkouts"]) == ("cluster", {}, 0)
    with pytest.raises((redis.ConnectionError, redis.exceptions.RedisClusterException)):
        get_redis("shards")


def test_a_cluster_alias_refuses_a_database(settings: Any) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": "redis://127.0.0.1:7000/1"}}
    with pytest.raises(Exception, match=r"selects database '1', but a Redis Cluster has only database 0"):
        get_redis("shards")


def test_status_shows_every_node_with_its_role_slots_and_pool(shards: RedisClusterTopology) -> None:
    client = get_redis("shards")
    for i in range(30):
        client.set(f"st:{i}", i)
    out = StringIO()
    call_command("redis_pool_status", "--format", "json", stdout=out)
    pool = json.loads(out.getvalue())["pools"]["shards"]
    assert (pool["kind"], pool["pool_class"], pool["server"]) == ("cluster", "ClusterBlockingPool", None)
    nodes = pool["nodes"]
    assert [n["node"] for n in nodes] == sorted(f"127.0.0.1:{port}" for port in shards.ports)
    assert {n["role"] for n in nodes} == {"primary"}
    covered = 0
    for node in nodes:
        for part in node["slots"].split(","):
            first, _, last = part.partition("-")
            covered += int(last or first) - int(first) + 1
        assert node["server"]["reachable"] is True
        assert node["stats"]["checkouts"] > 0
        assert [p["pid"] for p in node["server"]["processes"]] == [os.getpid()]
    assert covered == 16384
    text = StringIO()
    call_command("redis_pool_status", stdout=text)
    assert "  cluster nodes: 3" in text.getvalue()
    assert "    NODE" in text.getvalue()
    assert "ROLE" in text.getvalue()


def test_a_forked_child_opens_its_own_node_connections(shards: RedisClusterTopology) -> None:
    from tests.test_sentinel import run_in_child

    client = get_redis("shards")
    client.set("fork", "parent")

    def in_child() -> str:
        get_redis("shards").set("fork", "child")
        return str(get_stats("shards")["connections_created"])

    assert int(run_in_child(in_child)) >= 1
    assert client.get("fork") == b"child"
    names = {c["name"] for port in shards.ports for c in shards.admin(port).client_list()}
    assert f"django_redis_pool:shards:{local_host()}:{os.getpid()}" in names


def test_status_of_an_unreachable_cluster_exits_1_with_the_error(settings: Any) -> None:
    from django.core.management.base import CommandError

    port = free_port()
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": f"redis://127.0.0.1:{port}/0", **SAFE_LIMITS}}
    out = StringIO()
    with pytest.raises(CommandError, match="Redis unreachable for 'shards'"):
        call_command("redis_pool_status", "--format", "json", "--timeout", "1", stdout=out)
    (node,) = json.loads(out.getvalue())["pools"]["shards"]["nodes"]
    assert node["server"]["reachable"] is False
    assert f"127.0.0.1:{port}" in node["server"]["error"]
