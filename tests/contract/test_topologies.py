"""The stats of every kind of deployment have the keys and types of a single server's, on both drivers.

A Sentinel alias's pool is the single-server pool pointed at the master; a Cluster alias has one pool
per node, and its stats sum them with the same keys. These start a Sentinel topology or a Cluster
(seconds), so they are marked slow.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SAFE_LIMITS
from tests.contract.drivers import Driver
from tests.contract.test_stats import expected_types, type_names


def single_server(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"URL": request.getfixturevalue("real_redis").url}


def sentinel(request: pytest.FixtureRequest) -> dict[str, Any]:
    topology = request.getfixturevalue("sentinel_topology")
    return {"SENTINELS": topology.sentinels, "SERVICE_NAME": topology.service_name}


def cluster(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"CLUSTER": True, "URL": request.getfixturevalue("redis_cluster").url}


@pytest.fixture(
    params=[
        pytest.param(single_server, id="single"),
        pytest.param(sentinel, id="sentinel", marks=pytest.mark.slow),
        pytest.param(cluster, id="cluster", marks=pytest.mark.slow),
    ]
)
def deployment(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``REDIS_POOL`` keys that point the alias at one kind of deployment."""
    return request.param(request)  # type: ignore[no-any-return]


def test_every_deployment_reports_the_stats_keys_with_one_type(
    pool_driver: Driver, deployment: dict[str, Any]
) -> None:
    pool_driver.configure_alias({**deployment, **SAFE_LIMITS, "MAX_CONNECTIONS": 4, "LEAK_WARNING": 60})
    assert pool_driver.command("PING") is True  # a Cluster client reads its slot map first (a checkout)
    before = pool_driver.stats()["checkouts"]
    for n in range(12):  # keys in many slots: every node of a Cluster gets some
        assert pool_driver.command("SET", f"contract:{n}", n) is True
    stats = pool_driver.stats()
    assert type_names(stats) == expected_types("NoneType")
    assert (stats["checkouts"] - before, stats["in_use"], stats["exhausted"]) == (12, 0, 0)
