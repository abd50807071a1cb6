"""A full pool: POOL_TIMEOUT bounds the wait, BLOCKING False refuses at once, and a caller that gives
up (timed out, or cancelled) never takes a connection's slot with it."""

from __future__ import annotations

import time

import pytest
import redis

from django_redis_pool import PoolExhaustedError
from tests.contract.drivers import WAIT, Driver

POOL_TIMEOUT = 0.2


def test_pool_timeout_bounds_a_wait_and_raises_pool_exhausted_naming_the_alias(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=POOL_TIMEOUT)
    held = pool_driver.checkout()
    started = time.monotonic()
    with pytest.raises(PoolExhaustedError) as info:
        pool_driver.checkout()
    waited = time.monotonic() - started
    # The wait ended by its timeout: not before it, and not unbounded.
    assert POOL_TIMEOUT * 0.9 <= waited < POOL_TIMEOUT + WAIT / 2
    error = info.value
    assert isinstance(error, redis.exceptions.MaxConnectionsError)
    assert (error.alias, error.max_connections, error.timeout, error.blocking) == (
        "contract",
        1,
        POOL_TIMEOUT,
        True,
    )
    assert str(error).startswith("Redis pool 'contract' is exhausted: all MAX_CONNECTIONS=1 connections")
    stats = pool_driver.stats()
    assert (stats["exhausted"], stats["waits"], stats["waiting"], stats["checkouts"], stats["in_use"]) == (
        1,
        1,
        0,
        1,
        1,
    )
    assert stats["wait_ms_max"] >= POOL_TIMEOUT * 900
    pool_driver.release(held)


def test_a_non_blocking_pool_refuses_at_once_without_queueing(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, BLOCKING=False)
    held = pool_driver.checkout()
    with pytest.raises(PoolExhaustedError) as info:
        pool_driver.checkout()
    error = info.value
    assert (error.alias, error.max_connections, error.timeout, error.blocking) == ("contract", 1, None, False)
    assert "'BLOCKING': False" in str(error)
    assert str(error).startswith("Redis pool 'contract' is exhausted")
    stats = pool_driver.stats()
    # Never queued: no wait was counted, and nothing waited any time.
    assert (stats["exhausted"], stats["waits"], stats["wait_ms_max"], stats["checkouts"]) == (1, 0, 0.0, 1)
    pool_driver.release(held)
    assert pool_driver.command("PING") is True
    assert (pool_driver.stats()["in_use"], pool_driver.stats()["connections_created"]) == (0, 1)


def assert_all_slots_usable(pool_driver: Driver, max_connections: int) -> None:
    """Every slot can be checked out at once without waiting, and not one more."""
    waits = pool_driver.stats()["waits"]
    held = [pool_driver.checkout() for _ in range(max_connections)]
    assert pool_driver.stats()["waits"] == waits  # none of them had to wait
    with pytest.raises(PoolExhaustedError):
        pool_driver.checkout()
    for connection in held:
        pool_driver.release(connection)
    stats = pool_driver.stats()
    assert (stats["in_use"], stats["waiting"], stats["connections_created"]) == (0, 0, max_connections)


def test_timed_out_waiters_never_lose_a_slot(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=0.05)
    held = [pool_driver.checkout(), pool_driver.checkout()]
    for _ in range(3):
        with pytest.raises(PoolExhaustedError):
            pool_driver.checkout()
    for connection in held:
        pool_driver.release(connection)
    stats = pool_driver.stats()
    assert (stats["exhausted"], stats["waits"], stats["waiting"], stats["in_use"], stats["idle"]) == (
        3,
        3,
        0,
        0,
        2,
    )
    assert_all_slots_usable(pool_driver, 2)


def test_concurrent_timed_out_waiters_leave_the_queue_in_order(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=0.3)
    held = pool_driver.checkout()
    callers = []
    for n in range(4):
        callers.append(pool_driver.start_caller(f"caller-{n}"))
        pool_driver.wait_for_waiting(n + 1)
    for caller in callers:
        caller.join()
    assert [type(caller.error) for caller in callers] == [PoolExhaustedError] * 4
    assert pool_driver.served == []
    stats = pool_driver.stats()
    assert (stats["exhausted"], stats["waits"], stats["waiting"], stats["in_use"]) == (4, 4, 0, 1)
    pool_driver.release(held)
    assert_all_slots_usable(pool_driver, 1)


def test_a_cancelled_waiter_leaves_the_queue_and_never_loses_a_slot(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=WAIT)
    held = [pool_driver.checkout(), pool_driver.checkout()]
    error, _ = pool_driver.cancel_waiter()
    assert type(error) is pool_driver.cancelled_error
    stats = pool_driver.stats()
    assert (stats["waiting"], stats["waits"], stats["exhausted"], stats["in_use"], stats["checkouts"]) == (
        0,
        1,
        0,
        2,
        2,
    )
    for connection in held:
        pool_driver.release(connection)
    assert pool_driver.stats()["idle"] == 2
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=0.05)  # a fresh pool: checks its slots quickly
    assert_all_slots_usable(pool_driver, 2)


def test_a_waiter_cancelled_as_a_connection_is_handed_to_it_passes_it_on(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=WAIT)
    held = pool_driver.checkout()
    error, behind = pool_driver.cancel_waiter(hand_over=held, queue_behind=1)
    assert type(error) is pool_driver.cancelled_error
    # The connection handed to the cancelled waiter went on to the next one in the queue.
    assert behind[0].served() is held
    behind[0].join()
    stats = pool_driver.stats()
    assert (stats["in_use"], stats["idle"], stats["waiting"], stats["connections_created"]) == (0, 1, 0, 1)
    assert (stats["checkouts"], stats["waits"], stats["exhausted"]) == (2, 2, 0)
    assert pool_driver.command("PING") is True


def test_a_cancelled_waiter_with_nobody_behind_returns_the_handed_connection_to_the_pool(
    pool_driver: Driver,
) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=WAIT)
    held = pool_driver.checkout()
    error, behind = pool_driver.cancel_waiter(hand_over=held)
    assert (type(error), behind) == (pool_driver.cancelled_error, [])
    stats = pool_driver.stats()
    assert (stats["in_use"], stats["idle"], stats["waiting"], stats["checkouts"]) == (0, 1, 0, 1)
    assert pool_driver.checkout() is held
    assert pool_driver.stats()["waits"] == 1  # the cancelled one's; this checkout did not wait


def test_under_contention_every_refusal_is_a_counted_pool_exhausted_error(pool_driver: Driver) -> None:
    # Eight callers on two connections, each holding one 10 ms at a time, and waits bounded at
    # 20 ms (six queued need 30 ms): many are refused, and each refusal is counted once, as
    # `exhausted`, never as a connection error.
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=0.02)
    outcomes = pool_driver.run_concurrently(8, 10, hold=0.01)
    errors = [error for outcome in outcomes for error in outcome.errors]
    succeeded = sum(outcome.succeeded for outcome in outcomes)
    assert {type(error) for error in errors} <= {PoolExhaustedError}
    assert succeeded + len(errors) == 80
    assert len(errors) > 0  # the scenario did exhaust the pool
    stats = pool_driver.stats()
    assert (stats["checkouts"], stats["exhausted"], stats["connection_errors"]) == (succeeded, len(errors), 0)
    assert (stats["in_use"], stats["waiting"], stats["peak_in_use"], stats["connections_created"]) == (
        0,
        0,
        2,
        2,
    )
    assert_all_slots_usable(pool_driver, 2)


def test_under_contention_every_caller_is_served_when_waits_are_long_enough(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2, POOL_TIMEOUT=WAIT)
    outcomes = pool_driver.run_concurrently(8, 10, hold=0.005)
    assert [(outcome.succeeded, outcome.errors) for outcome in outcomes] == [(10, [])] * 8
    stats = pool_driver.stats()
    assert (stats["checkouts"], stats["exhausted"], stats["peak_in_use"], stats["connections_created"]) == (
        80,
        0,
        2,
        2,
    )
    assert (stats["in_use"], stats["waiting"], stats["idle"]) == (0, 0, 2)
