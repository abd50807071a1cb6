"""Who gets a released connection, and what the counters say about it: the same on both drivers."""

from __future__ import annotations

import pytest

from django_redis_pool import PoolExhaustedError
from tests.contract.drivers import Driver
from tests.contract.expected import COUNTS


def test_waiters_are_served_first_come_first_served(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=10)
    held = pool_driver.checkout()
    callers = []
    for n in range(6):
        callers.append(pool_driver.start_caller(f"caller-{n}"))
        pool_driver.wait_for_waiting(n + 1)
    pool_driver.release(held)
    for caller in callers:
        caller.join()
    assert pool_driver.served == [f"caller-{n}" for n in range(6)]
    assert [caller.connection is held for caller in callers] == [True] * 6


def test_a_released_connection_goes_to_the_waiter_not_to_a_newcomer(pool_driver: Driver) -> None:
    # The releasing caller asks again at once; the connection is already the waiter's, so it queues
    # behind nobody and times out while the waiter holds it.
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=0.2)
    held = pool_driver.checkout()
    waiter = pool_driver.start_caller("waiter", hold=True)
    pool_driver.wait_for_waiting(1)
    with pytest.raises(PoolExhaustedError):
        pool_driver.release_then_checkout(held)
    assert waiter.served() is held
    waiter.release()
    waiter.join()
    stats = pool_driver.stats()
    assert (stats["checkouts"], stats["waits"], stats["exhausted"], stats["in_use"]) == (2, 2, 1, 0)


def test_counts_of_a_scripted_scenario_are_exact(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=3, POOL_TIMEOUT=10)
    a, b, c = (pool_driver.checkout() for _ in range(3))
    pool_driver.release(c)
    assert pool_driver.command("PING") is True
    assert pool_driver.command("PING") is True
    c = pool_driver.checkout()
    x = pool_driver.start_caller("x", hold=True)
    pool_driver.wait_for_waiting(1)
    y = pool_driver.start_caller("y", hold=True)
    pool_driver.wait_for_waiting(2)
    pool_driver.release(a)
    assert x.served() is a
    pool_driver.release(b)
    assert y.served() is b
    during = pool_driver.stats()
    assert {
        key: during[key] for key in ("in_use", "idle", "waiting", "peak_in_use", "checkouts", "waits")
    } == {
        "in_use": 3,
        "idle": 0,
        "waiting": 0,
        "peak_in_use": 3,
        "checkouts": 8,
        "waits": 2,
    }
    for caller in (x, y):
        caller.release()
        caller.join()
    pool_driver.release(c)
    after = pool_driver.stats()
    assert {key: after[key] for key in COUNTS} == {
        "max_connections": 3,
        "in_use": 0,
        "idle": 3,
        "waiting": 0,
        "peak_in_use": 3,
        "connections_created": 3,
        "checkouts": 8,
        "waits": 2,
        "exhausted": 0,
        "connection_errors": 0,
        "closed_for_age": 0,
        "closed_for_idle": 0,
        "leak_warnings": 0,
        "breaker_opened": 0,
        "breaker_refused": 0,
    }


def test_a_released_connection_is_reused_not_reopened(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=5)
    first = pool_driver.command("CLIENT", "ID")
    assert [pool_driver.command("CLIENT", "ID") for _ in range(10)] == [first] * 10
    stats = pool_driver.stats()
    assert (stats["connections_created"], stats["checkouts"], stats["peak_in_use"], stats["idle"]) == (
        1,
        11,
        1,
        1,
    )


def test_a_second_release_of_the_same_connection_is_ignored(pool_driver: Driver) -> None:
    # Were it pooled twice, two callers would share one socket.
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=0.05)
    held = pool_driver.checkout()
    pool_driver.release(held)
    pool_driver.release(held)
    stats = pool_driver.stats()
    assert (stats["in_use"], stats["idle"], stats["connections_created"]) == (0, 1, 1)
    first, second = pool_driver.checkout(), pool_driver.checkout()
    assert first is not second
    with pytest.raises(PoolExhaustedError):
        pool_driver.checkout()
    pool_driver.release(first)
    pool_driver.release(second)
    assert (pool_driver.stats()["idle"], pool_driver.stats()["connections_created"]) == (2, 2)
