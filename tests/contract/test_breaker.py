"""The circuit breaker: after FAILURES connection failures in a row the pool refuses at once, touching
no socket, until a probe is due; one caller probes; success closes it, failure doubles the wait."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from django_redis_pool import CircuitOpenError
from tests.contract.drivers import WAIT, Driver
from tests.support.redis_server import free_port, redis_server_binary

PROBE_AFTER = 0.3


class ClosingListener:
    """A TCP port that accepts every connection and closes it at once, counting them: a server
    that is there but fails every handshake ("Connection closed by server")."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(WAIT)


@pytest.fixture
def closing_listener() -> Iterator[ClosingListener]:
    listener = ClosingListener()
    yield listener
    listener.close()


def configure(driver: Driver, port: int, **breaker: object) -> None:
    driver.configure_alias(
        {
            "URL": f"redis://127.0.0.1:{port}/0",
            "SOCKET_TIMEOUT": 2,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "POOL_TIMEOUT": 2,
            "OPTIONS": {"retry": None},  # one connection attempt per command: failures are countable
            "CIRCUIT_BREAKER": {"FAILURES": 3, "PROBE_AFTER": PROBE_AFTER, "MAX_PROBE_AFTER": 1.0, **breaker},
        }
    )


def fail(driver: Driver) -> BaseException:
    with pytest.raises(redis.exceptions.ConnectionError) as info:
        driver.command("PING")
    return info.value


def test_it_opens_after_failures_in_a_row_and_then_refuses_without_a_socket(
    pool_driver: Driver, closing_listener: ClosingListener
) -> None:
    configure(pool_driver, closing_listener.port)
    errors = [fail(pool_driver) for _ in range(3)]
    assert [type(e) for e in errors] == [redis.exceptions.ConnectionError] * 3
    accepted = closing_listener.accepted
    assert accepted == 3
    refused = [fail(pool_driver) for _ in range(4)]
    assert all(isinstance(e, CircuitOpenError) for e in refused)
    assert closing_listener.accepted == accepted  # nothing reached the server
    error = refused[0]
    assert isinstance(error, CircuitOpenError)
    assert (error.alias, error.failures) == ("contract", 3)
    assert error.last_error.startswith("ConnectionError: ")
    assert 0 < error.retry_in <= PROBE_AFTER
    assert str(error).startswith(
        "Redis pool 'contract' is failing fast: its circuit breaker opened after 3 connection failure(s) "
        "in a row, the last ConnectionError: "
    )
    stats = pool_driver.stats()
    assert (stats["breaker_state"], stats["breaker_opened"], stats["breaker_refused"]) == ("open", 1, 4)
    assert (stats["connection_errors"], stats["checkouts"], stats["in_use"]) == (3, 0, 0)


def test_a_failed_probe_reopens_for_twice_as_long(
    pool_driver: Driver, closing_listener: ClosingListener
) -> None:
    configure(pool_driver, closing_listener.port)
    for _ in range(3):
        fail(pool_driver)
    time.sleep(PROBE_AFTER * 1.2)
    probe = fail(pool_driver)
    assert not isinstance(probe, CircuitOpenError)  # the probe went to the server, and failed
    assert closing_listener.accepted == 4
    after = fail(pool_driver)
    assert isinstance(after, CircuitOpenError)
    assert PROBE_AFTER < after.retry_in <= PROBE_AFTER * 2
    stats = pool_driver.stats()
    assert (stats["breaker_state"], stats["breaker_opened"]) == ("open", 1)


def test_a_successful_probe_closes_it(pool_driver: Driver) -> None:
    binary = redis_server_binary()
    assert binary is not None
    port = free_port()
    configure(pool_driver, port)
    for _ in range(3):
        fail(pool_driver)  # refused: nothing listens
    assert isinstance(fail(pool_driver), CircuitOpenError)
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        admin = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                admin.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        time.sleep(PROBE_AFTER * 1.2)
        assert pool_driver.command("PING") is True
        assert pool_driver.command("PING") is True
        stats = pool_driver.stats()
        assert (stats["breaker_state"], stats["breaker_opened"], stats["breaker_refused"]) == ("closed", 1, 1)
        admin.close()
    finally:
        server.terminate()
        server.wait(WAIT)


def test_off_it_never_opens(pool_driver: Driver, closing_listener: ClosingListener) -> None:
    pool_driver.configure_alias(
        {
            "URL": f"redis://127.0.0.1:{closing_listener.port}/0",
            "SOCKET_TIMEOUT": 2,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "POOL_TIMEOUT": 2,
            "OPTIONS": {"retry": None},
            "CIRCUIT_BREAKER": False,
        }
    )
    errors = [fail(pool_driver) for _ in range(8)]
    assert not any(isinstance(e, CircuitOpenError) for e in errors)
    assert closing_listener.accepted == 8
    stats = pool_driver.stats()
    assert (stats["breaker_state"], stats["breaker_opened"], stats["connection_errors"]) == ("closed", 0, 8)
