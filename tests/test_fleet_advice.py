"""The sizing advisor: each rule triggered alone by a hand-built fleet, and silent on a healthy one."""

from __future__ import annotations

from typing import Any

import pytest

from django_redis_pool._fleet.advice import Advice, advise, server_of
from django_redis_pool._fleet.view import fleet_view
from tests.support.fleet_snapshots import Read, pool, snapshot

LIMITS = {
    "max_connections": 10,
    "blocking": True,
    "pool_timeout": 5.0,
    "socket_timeout": 5.0,
    "socket_connect_timeout": 5.0,
    "max_lifetime": None,
    "max_idle": 300.0,
    "leak_warning": None,
    "retries": 0,
    "retry_backoff": None,
}
SERVER = {"maxclients": 10000, "connected_clients": 12, "timeout": 0.0}


def healthy(pid: int, **stats: Any) -> dict[str, Any]:
    """A process whose pool peaked at 6 of 10 over 500 checkouts, without a wait."""
    return snapshot(pid, pool(**{"max_connections": 10, "peak_in_use": 6, "checkouts": 500, **stats}))


def rules(
    *snapshots: dict[str, Any],
    limits: dict[str, Any] | None = None,
    server: dict[str, Any] | None = SERVER,
    listed: list[dict[str, Any]] | None = None,
) -> list[str]:
    return [advice.rule for advice in advice_for(*snapshots, limits=limits, server=server, listed=listed)]


def advice_for(
    *snapshots: dict[str, Any],
    limits: dict[str, Any] | None = None,
    server: dict[str, Any] | None = SERVER,
    listed: list[dict[str, Any]] | None = None,
) -> list[Advice]:
    view = fleet_view(Read(list(snapshots)), ["default"], {"default": listed})
    return advise("default", view["aliases"]["default"], {**LIMITS, **(limits or {})}, server)


def test_a_healthy_fleet_gets_no_advice() -> None:
    assert rules(healthy(1), healthy(2)) == []


def test_no_fleet_and_no_server_gets_no_advice() -> None:
    assert rules(server=None) == []


@pytest.mark.parametrize(
    "stats",
    [
        {"waits": 40, "wait_ms_p99": 12.5},
        {"exhausted": 1},
        {"peak_in_use": 10},
    ],
    ids=["wait-p99", "exhausted", "peak-at-limit"],
)
def test_a_process_that_queues_gets_raise_max_connections(stats: dict[str, Any]) -> None:
    assert rules(healthy(1), healthy(2, **stats)) == ["raise_max_connections"]


def test_short_waits_below_the_threshold_are_not_queueing() -> None:
    assert rules(healthy(1, waits=40, wait_ms_p99=4.9)) == []


def test_raise_max_connections_shows_its_evidence_and_the_setting() -> None:
    (advice,) = advice_for(healthy(1), healthy(2, peak_in_use=10, exhausted=3, waits=7, wait_ms_p99=40.0))
    assert advice == Advice(
        rule="raise_max_connections",
        severity="warning",
        message=(
            "1 of 2 process(es) queue for a connection (a pool at its limit of 10, wait p99 above 5 ms, "
            "or PoolExhaustedError): raise MAX_CONNECTIONS to 15 (the largest pool peak, 10, with 1.5x "
            "headroom)."
        ),
        setting="REDIS_POOL['default']['MAX_CONNECTIONS'] = 15",
        evidence={
            "max_connections": 10,
            "processes": 2,
            "processes_queueing": ["web-1:2"],
            "largest_pool_peak": 10,
            "wait_ms_p99": 40.0,
            "waits": 7,
            "exhausted": 3,
            "wait_p99_threshold_ms": 5.0,
        },
    )


def test_the_peak_is_judged_against_the_limit_the_process_runs_with() -> None:
    # Four event loops of 10 connections each: a peak of 10 in one loop is at its limit.
    asyncio = pool(driver="asyncio", loops=4, max_connections=40, peak_in_use=10, checkouts=500)
    assert rules(snapshot(1, asyncio)) == ["raise_max_connections"]
    asyncio["stats"]["peak_in_use"] = 9
    assert rules(snapshot(1, asyncio)) == []


def test_a_peak_far_below_the_limit_gets_lower_max_connections() -> None:
    fleet = [
        healthy(1, peak_in_use=3, checkouts=5000, max_connections=20),
        healthy(2, peak_in_use=2, checkouts=1000, max_connections=20),
    ]
    (advice,) = advice_for(*fleet, limits={"max_connections": 20})
    assert (advice.rule, advice.severity) == ("lower_max_connections", "info")
    assert advice.setting == "REDIS_POOL['default']['MAX_CONNECTIONS'] = 5"
    assert advice.evidence == {
        "max_connections": 20,
        "processes": 2,
        "largest_pool_peak": 3,
        "fewest_checkouts": 1000,
        "low_peak_fraction": 0.5,
    }


@pytest.mark.parametrize(
    "second",
    [
        {"peak_in_use": 2, "checkouts": 999},  # too few checkouts to judge
        {"peak_in_use": 11, "checkouts": 5000},  # above half the limit
        {"peak_in_use": 2, "checkouts": 5000, "waits": 1, "wait_ms_p99": 1.0},  # it waited
    ],
    ids=["few-checkouts", "peak-above-half", "waited"],
)
def test_lower_max_connections_is_silent_without_enough_evidence(second: dict[str, Any]) -> None:
    fleet = [
        healthy(1, peak_in_use=3, checkouts=5000, max_connections=20),
        healthy(2, max_connections=20, **second),
    ]
    assert rules(*fleet, limits={"max_connections": 20}) == []


def test_a_fleet_near_maxclients_gets_server_capacity() -> None:
    # 4 publishing processes and 1 that publishes nothing, 10 connections each, twice during a deploy:
    # 100 of maxclients 120 (83%).
    fleet = [healthy(pid) for pid in (1, 2, 3, 4)]
    listed = [{"host": "web-1", "pid": pid, "connections": 1} for pid in (1, 2, 3, 4, 5)]
    server = {**SERVER, "maxclients": 120}
    (advice,) = advice_for(*fleet, server=server, listed=listed)
    assert (advice.rule, advice.severity) == ("server_capacity", "warning")
    assert advice.setting == "REDIS_POOL['default']['MAX_CONNECTIONS'] = 9"
    assert advice.evidence == {
        "max_connections": 10,
        "processes": 5,
        "fleet_ceiling": 50,
        "deploy_overlap": 2.0,
        "maxclients": 120,
        "connected_clients": 12,
        "maxclients_fraction": 0.8,
    }


def test_server_capacity_is_silent_below_the_fraction_and_per_cluster_node() -> None:
    fleet = [healthy(pid) for pid in (1, 2, 3, 4, 5)]
    assert rules(*fleet, server={**SERVER, "maxclients": 126}) == []  # 100 < 0.8 x 126
    # Three nodes of 10 each: each node (a server of its own) sees 10 per process, not 30.
    nodes = [pool(node=f"n{n}", max_connections=10, peak_in_use=6, checkouts=500) for n in (1, 2, 3)]
    assert rules(snapshot(1, *nodes), snapshot(2, *nodes), server={**SERVER, "maxclients": 60}) == []


def test_server_capacity_suggests_maxclients_when_no_pool_size_fits() -> None:
    (advice,) = advice_for(healthy(1), server={**SERVER, "maxclients": 4})
    assert advice.setting == "maxclients 25  # redis.conf"


@pytest.mark.parametrize("max_idle", [None, 300.0, 600.0])
def test_idle_connections_outliving_the_server_timeout_get_max_idle(max_idle: float | None) -> None:
    (advice,) = advice_for(healthy(1), limits={"max_idle": max_idle}, server={**SERVER, "timeout": 300.0})
    assert (advice.rule, advice.severity) == ("max_idle_vs_server_timeout", "warning")
    assert advice.setting == "REDIS_POOL['default']['MAX_IDLE'] = 240"
    assert advice.evidence == {"max_idle": max_idle, "server_timeout": 300.0, "idle_fraction": 0.8}


def test_max_idle_below_the_server_timeout_or_a_server_that_never_closes_is_silent() -> None:
    assert rules(healthy(1), limits={"max_idle": 299.0}, server={**SERVER, "timeout": 300.0}) == []
    assert rules(healthy(1), limits={"max_idle": None}, server={**SERVER, "timeout": 0.0}) == []


def test_a_pool_timeout_longer_than_the_socket_timeout_chain_is_advised_down() -> None:
    (advice,) = advice_for(healthy(1), limits={"pool_timeout": 20.0, "socket_timeout": 2.0, "retries": 3})
    assert (advice.rule, advice.severity) == ("pool_timeout_vs_socket_timeout", "info")
    assert advice.setting == "REDIS_POOL['default']['POOL_TIMEOUT'] = 8"
    assert advice.evidence == {"pool_timeout": 20.0, "socket_timeout": 2.0, "retries": 3}


def test_a_pool_timeout_of_none_waits_forever_and_is_a_warning() -> None:
    (advice,) = advice_for(healthy(1), limits={"pool_timeout": None, "socket_timeout": 0.5})
    assert (advice.rule, advice.severity) == ("pool_timeout_vs_socket_timeout", "warning")
    assert advice.setting == "REDIS_POOL['default']['POOL_TIMEOUT'] = 0.5"
    assert advice.message.startswith("A caller waits forever for a connection (POOL_TIMEOUT)")


@pytest.mark.parametrize(
    "limits",
    [
        {"pool_timeout": 8.0, "socket_timeout": 2.0, "retries": 3},
        {"pool_timeout": 60.0, "socket_timeout": None},  # no bound at all: the checks say so
        {"pool_timeout": 60.0, "blocking": False},  # never waits
    ],
    ids=["within-chain", "no-socket-timeout", "not-blocking"],
)
def test_pool_timeout_rule_is_silent(limits: dict[str, Any]) -> None:
    assert rules(healthy(1), limits=limits) == []


def test_server_of_takes_the_tightest_cluster_node() -> None:
    def node(**server: Any) -> dict[str, Any]:
        return {"server": {"reachable": True, **server}}

    report = {
        "server": None,
        "nodes": [
            node(maxclients=100, connected_clients=5, timeout=0.0),
            node(maxclients=50, connected_clients=9, timeout=300.0),
            {"server": {"reachable": False, "error": "ConnectionError"}},
        ],
    }
    assert server_of(report) == {"maxclients": 50, "connected_clients": 9, "timeout": 300.0}
    only_zero = {"server": {"reachable": True, "maxclients": 10, "connected_clients": 1, "timeout": 0.0}}
    assert server_of(only_zero) == {"maxclients": 10, "connected_clients": 1, "timeout": 0.0}
    assert server_of({"server": {"reachable": False, "error": "x"}, "nodes": None}) is None
    info_refused = {"server": {"reachable": True, "info_error": "INFO is not available", "timeout": None}}
    assert server_of(info_refused) == {"maxclients": None, "connected_clients": None, "timeout": None}
