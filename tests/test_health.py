"""The health view: a bounded PING per alias through its own pool, 200 or 503, redacted JSON."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from django_redis_pool import get_pool, get_redis, health
from django_redis_pool._conf.probes import health_timeout
from django_redis_pool._topology.entry import describe_retry
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import APP_PASSWORD, RedisServer, free_port
from tests.support.topologies import RedisClusterTopology, SentinelTopology

URL = "/health/redis/"


@pytest.fixture
def fake(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE_LIMITS}}


@pytest.fixture
def stalled_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung server, or SIGSTOP)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for sock in accepted:
        sock.close()
    listener.close()


def test_reachable_alias_answers_200_with_latency_and_pool_counters(fake: None, client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert list(body["pools"]) == ["default"]
    report = body["pools"]["default"]
    assert (report["kind"], report["reachable"], report["error"], report["nodes"]) == (
        "server",
        True,
        None,
        None,
    )
    assert 0 <= report["latency_ms"] < 1000
    assert report["stats"]["checkouts"] == 1
    assert report["stats"]["in_use"] == 0
    assert report["stats"]["idle"] == 1
    assert body["took_ms"] >= report["latency_ms"]


def test_the_url_is_named_in_the_apps_namespace(fake: None) -> None:
    assert reverse("django_redis_pool:health") == URL


def test_head_is_answered_like_get(fake: None, client: Client) -> None:
    response = client.head(URL)
    assert (response.status_code, response.content) == (200, b"")


def test_post_is_not_allowed(fake: None, client: Client) -> None:
    assert client.post(URL).status_code == 405


def test_unknown_alias_answers_404_naming_the_configured_aliases(fake: None, client: Client) -> None:
    response = client.get(URL, {"alias": ["default", "nope"]})
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "error": "REDIS_POOL has no alias 'nope'; configured aliases: 'default'.",
    }


def test_alias_query_probes_only_the_aliases_asked_for(settings: Any, client: Client) -> None:
    dead = free_port()
    settings.REDIS_POOL = {
        "default": {"URL": "fakeredis://", **SAFE_LIMITS},
        "down": {"URL": f"redis://127.0.0.1:{dead}/0", **SAFE_LIMITS},
    }
    only_default = client.get(URL, {"alias": "default"})
    assert only_default.status_code == 200
    assert list(only_default.json()["pools"]) == ["default"]
    everything = client.get(URL)
    assert everything.status_code == 503
    body = everything.json()
    assert body["status"] == "unavailable"
    assert [(a, r["reachable"]) for a, r in body["pools"].items()] == [("default", True), ("down", False)]
    assert body["pools"]["down"]["error"].startswith("ConnectionError: ")
    assert body["pools"]["down"]["latency_ms"] is None
    assert body["pools"]["down"]["stats"]["connection_errors"] == 1


def test_view_kwargs_override_the_aliases_and_the_timeout(fake: None, rf: Any) -> None:
    view = health.HealthView.as_view(aliases=["default"], timeout=0.25)
    response = view(rf.get(URL))
    assert response.status_code == 200


def test_no_aliases_at_all_is_unavailable(settings: Any, client: Client) -> None:
    settings.REDIS_POOL = {}
    response = client.get(URL)
    assert (response.status_code, response.json()["pools"]) == (503, {})


def test_invalid_setting_answers_503_with_the_reason(settings: Any, client: Client) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "MAX_CONNECTIONS": -3}}
    response = client.get(URL, {"alias": "default"})
    assert response.status_code == 503
    assert response.json()["error"].startswith("REDIS_POOL is invalid, so no pool was built: ")


@pytest.mark.parametrize("value", [0, -1, "1", True, 10**9])
def test_health_timeout_setting_is_validated(settings: Any, value: Any, client: Client) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://"}}
    settings.REDIS_POOL_HEALTH_TIMEOUT = value
    with pytest.raises(ImproperlyConfigured, match="REDIS_POOL_HEALTH_TIMEOUT must be a number of seconds"):
        health_timeout()
    assert client.get(URL).status_code == 503


def test_health_timeout_defaults_to_one_second_and_takes_the_setting(settings: Any) -> None:
    assert health_timeout() == 1.0
    settings.REDIS_POOL_HEALTH_TIMEOUT = 2
    assert health_timeout() == 2.0


# -- the real server ---------------------------------------------------------------------------


def test_fifty_probes_open_no_connection(real_redis: RedisServer, client: Client) -> None:
    admin = real_redis.admin()
    assert client.get(URL).status_code == 200  # the pool's first connection
    before = admin.info("stats")["total_connections_received"]
    statuses = {client.get(URL).status_code for _ in range(50)}
    after = admin.info("stats")["total_connections_received"]
    assert statuses == {200}
    assert after - before == 0
    stats = client.get(URL).json()["pools"]["default"]["stats"]
    assert (stats["connections_created"], stats["checkouts"]) == (1, 52)


def test_a_probe_shares_the_connection_the_app_uses(real_redis: RedisServer, client: Client) -> None:
    get_redis().set("k", "v")
    assert client.get(URL).status_code == 200
    stats = client.get(URL).json()["pools"]["default"]["stats"]
    assert stats["connections_created"] == 1


def test_a_hung_server_answers_503_within_the_timeout(
    stalled_server: int, settings: Any, client: Client
) -> None:
    settings.REDIS_POOL = {"default": {"URL": f"redis://127.0.0.1:{stalled_server}/0", **SAFE_LIMITS}}
    settings.REDIS_POOL_HEALTH_TIMEOUT = 0.3
    started = time.monotonic()
    response = client.get(URL)
    took = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["pools"]["default"]["error"].startswith("TimeoutError: ")
    assert 0.25 < took < 1.0  # SOCKET_TIMEOUT is 5 s, and redis-py would retry the connect
    assert get_pool().stats()["in_use"] == 0


@pytest.mark.real_redis
def test_a_stopped_server_times_out_on_an_open_pooled_connection(settings: Any, client: Client) -> None:
    with RedisServer() as server:
        settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS}}
        settings.REDIS_POOL_HEALTH_TIMEOUT = 0.3
        assert client.get(URL).status_code == 200  # an open, idle, pooled connection
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = client.get(URL)
            took = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert response.status_code == 503
        assert response.json()["pools"]["default"]["error"].startswith("TimeoutError: ")
        assert 0.25 < took < 1.0
        # The timed-out connection was closed, not pooled with a reply pending; the next probe reconnects.
        assert client.get(URL).status_code == 200
        stats = get_pool().stats()
        assert (stats["connections_created"], stats["in_use"], stats["idle"]) == (2, 0, 1)


def test_a_probe_restores_the_connections_own_timeouts(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url, **SAFE_LIMITS, "SOCKET_TIMEOUT": 4}}
    pool = get_pool()
    assert pool.ping_within(0.2) >= 0  # opens the connection under the probe's bound
    connection = checkout(pool)
    try:
        assert (connection.socket_timeout, connection.socket_connect_timeout) == (4, 5)
        assert connection._sock.gettimeout() == 4
        connection.can_read(timeout=0)  # the parser restores its own copy after a read with a timeout
        assert connection._sock.gettimeout() == 4
        parser = connection._parser
        if hasattr(parser, "_socket_timeout"):  # hiredis keeps its own copy
            assert parser._socket_timeout == 4
        else:
            assert parser._buffer.socket_timeout == 4
        expected = pool.connection_kwargs.get("retry")  # None on redis-py 5: its default, 0 retries
        if expected is not None:
            assert describe_retry(connection.retry) == describe_retry(expected)
    finally:
        pool.release(connection)


def test_a_busy_pool_is_waited_for_at_most_the_timeout(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url, **SAFE_LIMITS, "MAX_CONNECTIONS": 1}}
    held = checkout(get_pool())
    try:
        started = time.monotonic()
        report = health.check(timeout=0.2)
        took = time.monotonic() - started
    finally:
        get_pool().release(held)
    assert report["status"] == "unavailable"
    assert report["pools"]["default"]["error"].startswith("PoolExhaustedError: ")
    assert 0.15 < took < 1.0  # POOL_TIMEOUT is 5 s
    assert health.check(timeout=0.2)["status"] == "ok"


def test_a_password_never_appears_in_the_answer(
    real_redis: RedisServer, settings: Any, client: Client
) -> None:
    wrong = "wrong-" + APP_PASSWORD
    settings.REDIS_POOL = {
        "good": {"URL": real_redis.url_for("app", APP_PASSWORD), **SAFE_LIMITS},
        "bad": {"URL": real_redis.url_for("app", wrong), **SAFE_LIMITS},
        "gone": {"URL": f"redis://app:{APP_PASSWORD}@127.0.0.1:{free_port()}/0", **SAFE_LIMITS},
    }
    response = client.get(URL)
    text = response.content.decode()
    assert response.status_code == 503
    assert APP_PASSWORD not in text
    pools = response.json()["pools"]
    assert [(a, pools[a]["reachable"]) for a in ("good", "bad", "gone")] == [
        ("good", True),
        ("bad", False),
        ("gone", False),
    ]
    assert pools["bad"]["error"].startswith("AuthenticationError: ")


def test_a_probe_that_fails_auth_counts_one_connection_error_and_no_checkout(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {"bad": {"URL": real_redis.url_for("app", "wrong-" + APP_PASSWORD), **SAFE_LIMITS}}
    report = health.check(["bad"])["pools"]["bad"]
    assert report["error"] == (
        "AuthenticationError: REDIS_POOL['bad']: invalid username-password pair or user is disabled."
    )
    stats = report["stats"]
    assert (stats["connection_errors"], stats["checkouts"], stats["in_use"]) == (1, 0, 0)


@pytest.mark.real_redis
def test_a_probe_of_a_stalled_server_counts_one_connection_error_and_no_checkout(settings: Any) -> None:
    with RedisServer() as server:
        settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS}}
        get_redis().ping()  # one pooled connection, established
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            report = health.check(["default"], timeout=0.2)["pools"]["default"]
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
    assert report["reachable"] is False
    stats = report["stats"]
    assert (stats["connection_errors"], stats["checkouts"], stats["in_use"]) == (1, 1, 0)


def test_an_error_quoting_the_password_is_redacted(
    real_redis: RedisServer, settings: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REDIS_POOL = {"default": {"URL": real_redis.url_for("app", APP_PASSWORD), **SAFE_LIMITS}}

    def leaky(self: Any, timeout: float) -> float:
        raise RedisConnectionError(f"cannot log in as app:{APP_PASSWORD}")

    monkeypatch.setattr(type(get_pool()), "ping_within", leaky)
    response = client.get(URL)
    assert response.status_code == 503
    assert APP_PASSWORD not in response.content.decode()
    assert response.json()["pools"]["default"]["error"] == "ConnectionError: cannot log in as app:***"


def test_several_stalled_aliases_cost_the_timeout_once(
    stalled_server: int, settings: Any, client: Client
) -> None:
    settings.REDIS_POOL = {
        f"hung{i}": {"URL": f"redis://127.0.0.1:{stalled_server}/{i}", **SAFE_LIMITS} for i in range(4)
    }
    settings.REDIS_POOL_HEALTH_TIMEOUT = 0.3
    started = time.monotonic()
    response = client.get(URL)
    assert response.status_code == 503
    assert time.monotonic() - started < 1.0  # probed concurrently, not 4 x 0.3 s


def test_sentinel_alias_is_probed_through_its_pool(
    sentinel_topology: SentinelTopology, settings: Any, client: Client
) -> None:
    settings.REDIS_POOL = {
        "ha": {
            "SENTINELS": sentinel_topology.sentinels,
            "SERVICE_NAME": sentinel_topology.service_name,
            **SAFE_LIMITS,
        }
    }
    first = client.get(URL)
    second = client.get(URL)
    assert (first.status_code, second.status_code) == (200, 200)
    report = second.json()["pools"]["ha"]
    assert (report["kind"], report["reachable"]) == ("sentinel", True)
    assert (report["stats"]["connections_created"], report["stats"]["checkouts"]) == (1, 2)


def test_cluster_alias_pings_every_node(
    redis_cluster: RedisClusterTopology, settings: Any, client: Client
) -> None:
    settings.REDIS_POOL = {"shards": {"CLUSTER": True, "URL": redis_cluster.url, **SAFE_LIMITS}}
    first = client.get(URL).json()["pools"]["shards"]["stats"]["nodes"]
    response = client.get(URL)
    assert response.status_code == 200
    report = response.json()["pools"]["shards"]
    assert (report["kind"], report["reachable"], report["error"]) == ("cluster", True, None)
    names = sorted(f"127.0.0.1:{port}" for port in redis_cluster.ports)
    assert sorted(report["nodes"]) == names
    assert all(node["reachable"] and node["latency_ms"] >= 0 for node in report["nodes"].values())
    per_node = report["stats"]["nodes"]
    # The second probe reuses each node's pooled connection.
    assert [per_node[n]["connections_created"] for n in names] == [
        first[n]["connections_created"] for n in names
    ]
    assert [per_node[n]["checkouts"] - first[n]["checkouts"] for n in names] == [1, 1, 1]


def test_cluster_alias_whose_nodes_are_down_is_unavailable(settings: Any, client: Client) -> None:
    settings.REDIS_POOL = {
        "shards": {"CLUSTER": True, "URL": f"redis://127.0.0.1:{free_port()}/0", **SAFE_LIMITS}
    }
    response = client.get(URL)
    assert response.status_code == 503
    report = response.json()["pools"]["shards"]
    assert (report["reachable"], report["nodes"]) == (False, None)
    assert "Error" in report["error"]
