"""The fault-injection proxy of tests/support/proxy.py, on the real server (plain redis-py clients)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.retry import Retry

from tests.conftest import checkout
from tests.support.proxy import FaultProxy
from tests.support.redis_server import RedisServer


def client(proxy: FaultProxy, timeout: float = 0.3) -> redis.Redis:
    """A client with no retries and short timeouts: one attempt per command."""
    return redis.Redis(
        host=proxy.host,
        port=proxy.port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(redis.backoff.NoBackoff(), 0),
    )


def ping_on(connection: Any) -> Any:
    connection.send_command("PING")
    return connection.read_response()


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", redis_server.port)) as running:
        yield running


def test_passes_commands_through(proxy: FaultProxy, redis_server: RedisServer) -> None:
    proxied = client(proxy)
    proxied.set("proxy:k", "v")
    assert redis_server.admin().get("proxy:k") == "v"  # admin() decodes
    assert proxied.get("proxy:k") == b"v"
    assert proxy.url(3) == f"redis://127.0.0.1:{proxy.port}/3"
    assert proxy.accepted == 1


def test_refuse_resets_open_flows_and_refuses_connects_until_passing_again(proxy: FaultProxy) -> None:
    proxied = client(proxy)
    assert proxied.ping() is True
    proxy.refuse()
    with pytest.raises(redis.ConnectionError):
        proxied.ping()  # the open connection was reset
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(proxy.address, timeout=1)
    proxy.pass_through()
    assert client(proxy).ping() is True


def test_black_hole_accepts_and_never_answers(proxy: FaultProxy) -> None:
    proxied = client(proxy)
    assert proxied.ping() is True
    proxy.black_hole()
    with pytest.raises(redis.TimeoutError):
        proxied.ping()  # an open flow goes silent
    accepted = proxy.accepted
    with pytest.raises(redis.TimeoutError):
        client(proxy).ping()  # a new one connects, and hears nothing
    assert proxy.accepted == accepted + 1
    proxy.pass_through()
    assert client(proxy).ping() is True  # new flows pass; black-holed ones stay dead


def test_stall_holds_replies_until_resumed(proxy: FaultProxy) -> None:
    proxied = client(proxy, timeout=5)
    assert proxied.ping() is True
    proxy.stall()
    with pytest.raises(redis.TimeoutError):
        client(proxy, timeout=0.3).ping()  # connects (the backlog), then hears nothing
    connection = checkout(proxied.connection_pool)
    connection.send_command("PING")
    assert connection.can_read(timeout=0.3) is False
    proxy.pass_through()
    assert connection.read_response() in (b"PONG", "PONG", True)
    proxied.connection_pool.release(connection)


def test_drop_idle_after_silences_idle_flows(proxy: FaultProxy) -> None:
    proxied = client(proxy)
    assert proxied.ping() is True
    proxy.drop_idle_after(0.2)
    time.sleep(0.5)
    with pytest.raises(redis.TimeoutError):
        proxied.ping()  # the middlebox forgot the flow: no answer, no reset
    proxy.drop_idle_after(None)
    assert client(proxy).ping() is True


def test_drop_idle_after_with_reset(proxy: FaultProxy) -> None:
    proxied = client(proxy)
    connection = checkout(proxied.connection_pool)  # held: no checkout sees the reset first
    assert ping_on(connection) in (b"PONG", "PONG", True)
    proxy.drop_idle_after(0.2, reset=True)
    time.sleep(0.5)
    with pytest.raises(redis.ConnectionError):
        ping_on(connection)
    proxied.connection_pool.release(connection)


def test_switch_upstream_sends_new_flows_to_the_other_server(proxy: FaultProxy) -> None:
    with RedisServer() as other:
        other.admin().set("which", "B")
        old = client(proxy)
        old.set("which", "A")
        proxy.switch_upstream(("127.0.0.1", other.port))
        assert old.get("which") == b"A"  # an open flow stays with server A
        assert client(proxy).get("which") == b"B"
        proxy.switch_upstream(("127.0.0.1", other.port), reset_flows=True)
        with pytest.raises(redis.ConnectionError):
            old.get("which")
