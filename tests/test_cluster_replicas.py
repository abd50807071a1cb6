"""A Cluster alias whose masters have replicas: the status command, health and metrics list every node.

The status command used to crash on such a cluster (``zip() argument 2 is longer than argument 1``):
a replica owns no slot, and the slot-range formatter failed on an empty list.
"""

from __future__ import annotations

import json
import os
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from django_redis_pool import get_redis
from django_redis_pool._report.status import _slot_ranges
from tests.conftest import SAFE_LIMITS
from tests.support.topologies import HOST, RedisClusterTopology
from tests.test_metrics import errors_of, scrape


@pytest.fixture
def replicated(redis_cluster_with_replicas: RedisClusterTopology, settings: Any) -> RedisClusterTopology:
    cluster = redis_cluster_with_replicas
    cluster.flushall()
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": cluster.url, **SAFE_LIMITS}}
    client = get_redis("shards")
    for i in range(30):
        client.set(f"r:{i}", i)
    return cluster


def name(port: int) -> str:
    return f"{HOST}:{port}"


def primary_of(cluster: RedisClusterTopology, replica_port: int) -> str:
    role, host, port, *_ = cluster.admin(replica_port).execute_command("ROLE")
    assert role == "slave"
    return f"{host}:{port}"


@pytest.mark.parametrize(
    ("slots", "ranges"),
    [([], ""), ([7], "7"), ([0, 1, 2, 5], "0-2,5"), ([0, 2, 3, 16383], "0,2-3,16383")],
)
def test_slot_ranges(slots: list[int], ranges: str) -> None:
    assert _slot_ranges(slots) == ranges


def test_status_lists_replicas_with_their_primary_and_no_slots(replicated: RedisClusterTopology) -> None:
    out = StringIO()
    call_command("redis_pool_status", "--format", "json", stdout=out)
    nodes = {node["node"]: node for node in json.loads(out.getvalue())["pools"]["shards"]["nodes"]}
    assert sorted(nodes) == sorted(name(port) for port in replicated.ports)
    owners = replicated.slot_owners()
    expected_slots = {
        name(port): ",".join(f"{first}-{last}" for (first, last), at in sorted(owners.items()) if at == port)
        for port in replicated.master_ports
    }
    assert {n: (node["role"], node["slots"], node["replica_of"]) for n, node in nodes.items()} == {
        **{name(port): ("primary", expected_slots[name(port)], None) for port in replicated.master_ports},
        **{name(port): ("replica", "", primary_of(replicated, port)) for port in replicated.replica_ports},
    }
    for node in nodes.values():
        assert node["server"]["reachable"] is True
        assert node["server"]["role"] == ("master" if node["role"] == "primary" else "slave")
    # Writes go to the primaries; the replicas' pools exist but were never used.
    checkouts = {n: node["stats"]["checkouts"] for n, node in nodes.items()}
    assert {n: checkouts[n] for n in map(name, replicated.replica_ports)} == dict.fromkeys(
        map(name, replicated.replica_ports), 0
    )
    assert sum(checkouts[n] for n in map(name, replicated.master_ports)) == 31  # 30 SETs and COMMAND
    text = StringIO()
    call_command("redis_pool_status", stdout=text)
    assert "  cluster nodes: 6" in text.getvalue()
    for port in replicated.replica_ports:
        assert f"replica of {primary_of(replicated, port)}" in text.getvalue()


def test_health_pings_primaries_and_replicas(replicated: RedisClusterTopology, client: Client) -> None:
    response = client.get("/health/redis/")
    assert response.status_code == 200
    report = response.json()["pools"]["shards"]
    assert (report["kind"], report["reachable"], report["error"]) == ("cluster", True, None)
    assert sorted(report["nodes"]) == sorted(name(port) for port in replicated.ports)
    assert [node["reachable"] for node in report["nodes"].values()] == [True] * 6


def test_metrics_label_every_node_replicas_included(replicated: RedisClusterTopology) -> None:
    samples = scrape()
    checkouts = {
        dict(labels)["node"]: value
        for (metric, labels), value in samples.items()
        if metric == "django_redis_pool_checkouts_total"
    }
    assert sorted(checkouts) == sorted(name(port) for port in replicated.ports)
    assert [checkouts[name(port)] for port in replicated.replica_ports] == [0.0, 0.0, 0.0]
    assert sum(checkouts[name(port)] for port in replicated.master_ports) == 31.0
    assert errors_of(samples) == {("shards", "client_list"): 0.0}
    server = "django_redis_pool_server_connections"
    assert {dict(labels)["pid"] for metric, labels in samples if metric == server} == {str(os.getpid())}
