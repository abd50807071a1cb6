"""The Cluster and Sentinel topologies the suite starts (tests/support/topologies.py), plain redis-py only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from tests.conftest import require_binaries
from tests.support.topologies import RedisClusterTopology, SentinelTopology, wait_until


@contextmanager
def cluster_client(cluster: RedisClusterTopology) -> Iterator[RedisCluster]:
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster.startup_nodes],
        decode_responses=True,
        socket_timeout=5,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def sentinel_client(topology: SentinelTopology) -> Iterator[Sentinel]:
    sentinel = Sentinel(topology.sentinels, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield sentinel
    finally:
        for client in sentinel.sentinels:
            client.close()


def write_until_it_lands(
    sentinel: Sentinel, topology: SentinelTopology, port: int, timeout: float = 30.0
) -> float:
    """Write through master_for until the value is on the node on ``port``; returns the seconds taken."""
    began = time.monotonic()

    def landed() -> bool:
        master = sentinel.master_for(topology.service_name, socket_timeout=2, socket_connect_timeout=2)
        try:
            master.set("written", "yes")
        finally:
            master.close()
        return topology.admin(port).get("written") == "yes"

    wait_until(landed, timeout, f"a write through master_for to land on port {port}", interval=0.1)
    return time.monotonic() - began


def test_cluster_spreads_keys_over_all_three_masters(redis_cluster: RedisClusterTopology) -> None:
    redis_cluster.flushall()
    assert redis_cluster.url == f"redis://127.0.0.1:{redis_cluster.ports[0]}/0"
    with cluster_client(redis_cluster) as client:
        for i in range(100):
            client.set(f"key:{i}", i)
        assert [client.get(f"key:{i}") for i in range(100)] == [str(i) for i in range(100)]
    per_node = [redis_cluster.admin(port).dbsize() for port in redis_cluster.ports]
    assert sum(per_node) == 100
    assert all(count > 0 for count in per_node), per_node
    assert set(redis_cluster.slot_owners().values()) == set(redis_cluster.ports)


def test_migrated_slot_answers_moved_and_the_cluster_client_follows(
    redis_cluster: RedisClusterTopology,
) -> None:
    redis_cluster.flushall()
    keys = [f"{{moving}}:{i}" for i in range(250)]  # one hash tag: one slot, more keys than a batch
    slot = redis_cluster.key_slot(keys[0])
    old_port = redis_cluster.owner_of(slot)
    new_port = next(port for port in redis_cluster.ports if port != old_port)
    with cluster_client(redis_cluster) as client:
        for key in keys:
            client.set(key, key)
        try:
            assert redis_cluster.migrate_slot(slot, new_port) == old_port
            assert redis_cluster.owner_of(slot) == new_port
            assert redis_cluster.admin(new_port).dbsize() >= len(keys)
            # redis-py 5.0 raises a plain ResponseError("MOVED <slot> <host:port>"), later versions its
            # MovedError subclass, whose message leaves out the word MOVED.
            moved = rf"^(MOVED )?{slot} 127\.0\.0\.1:{new_port}$"
            with pytest.raises(redis.ResponseError, match=moved):
                redis_cluster.admin(old_port).get(keys[0])
            # RedisCluster still routes to the old owner, gets MOVED and follows it.
            assert [client.get(key) for key in keys] == keys
            client.set(keys[0], "after")
            assert redis_cluster.admin(new_port).get(keys[0]) == "after"
        finally:
            redis_cluster.migrate_slot(slot, old_port)
    assert redis_cluster.owner_of(slot) == old_port
    assert redis_cluster.admin(old_port).get(keys[0]) == "after"


def test_sentinel_topology_reports_its_master_and_master_for_writes(
    sentinel_topology: SentinelTopology,
) -> None:
    master_address = sentinel_topology.master_address()
    assert master_address == ("127.0.0.1", sentinel_topology.data_ports[0])
    assert len(sentinel_topology.sentinels) == 3
    assert sentinel_topology.ready()
    with sentinel_client(sentinel_topology) as sentinel:
        assert sentinel.discover_master("mymaster") == master_address
        assert sentinel.discover_slaves("mymaster") == [("127.0.0.1", sentinel_topology.data_ports[1])]
        master = sentinel.master_for("mymaster", socket_timeout=2)
        try:
            master.set("k", "v")
        finally:
            master.close()
    assert sentinel_topology.admin(master_address[1]).get("k") == "v"
    replica = sentinel_topology.admin(sentinel_topology.data_ports[1])
    assert wait_until(lambda: replica.get("k") == "v", 5, "the write to reach the replica")


def test_graceful_failover_promotes_the_replica(
    sentinel_topology: SentinelTopology, record_property: Any
) -> None:
    old = sentinel_topology.master_address()
    began = time.monotonic()
    new = sentinel_topology.failover()
    record_property("failover_seconds", round(time.monotonic() - began, 2))
    assert new == ("127.0.0.1", sentinel_topology.data_ports[1]) != old
    assert all(sentinel_topology.master_address(port) == new for port in sentinel_topology.sentinel_ports)
    with sentinel_client(sentinel_topology) as sentinel:
        assert write_until_it_lands(sentinel, sentinel_topology, new[1]) < 30


def test_killed_master_is_replaced_by_the_replica(
    sentinel_topology: SentinelTopology, record_property: Any
) -> None:
    old = sentinel_topology.master_address()
    killed_at = sentinel_topology.kill_master()
    new = sentinel_topology.wait_for_master_change(old, timeout=30)
    elapsed = time.monotonic() - killed_at
    record_property("kill_to_new_master_seconds", round(elapsed, 2))
    # Usually 2-4 s (down-after 1 s, then the election); a split vote retries after 2 x failover-timeout.
    assert elapsed < 30
    assert new == ("127.0.0.1", sentinel_topology.data_ports[1])
    with sentinel_client(sentinel_topology) as sentinel:
        write_until_it_lands(sentinel, sentinel_topology, new[1])


@pytest.mark.slow
@pytest.mark.real_redis
def test_min_replicas_to_write_refuses_writes_without_a_replica() -> None:
    require_binaries("redis-server")
    with SentinelTopology(min_replicas_to_write=1, min_replicas_max_lag=5) as topology:
        master, replica = topology.data_ports
        for port in topology.data_ports:
            config = topology.admin(port).config_get("min-replicas-*")
            assert config == {"min-replicas-to-write": "1", "min-replicas-max-lag": "5"}
        topology.admin(master).set("k", "v")
        topology.kill(replica)
        topology.disturbed = True

        def refused() -> bool:
            try:
                topology.admin(master).set("k", "w")
            except redis.ResponseError as error:
                return str(error).startswith("NOREPLICAS")
            return False

        assert wait_until(refused, 10, "the master to refuse writes without a replica")
        processes = list(topology.processes.values())
    assert not topology.dir.exists()
    assert all(process.poll() is not None for process in processes)
