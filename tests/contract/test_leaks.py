"""LEAK_WARNING: a connection held too long is logged once, with the stack of the code that took it,
and counted; ``oldest_checkout_age_s`` says how long the longest-held one has been out."""

from __future__ import annotations

import logging
import time

import pytest

from tests.contract.drivers import Driver


def pool_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "django_redis_pool" and r.levelno == logging.WARNING
    ]


def test_a_connection_held_too_long_is_logged_once_with_the_callers_stack(
    pool_driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    pool_driver.configure(LEAK_WARNING=0.2)
    caller = pool_driver.start_caller("leaky-caller", hold=True)
    caller.served()
    time.sleep(0.35)  # past LEAK_WARNING, and past the pause between two scans for leaks (0.1 s)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        pool_driver.command("PING")  # another checkout notices the held connection
        pool_driver.command("PING")
        time.sleep(0.15)
        pool_driver.command("PING")  # a later scan: already reported, so not again
        caller.release()  # nor on its release
        caller.join()
    messages = pool_warnings(caplog)
    assert len(messages) == 1, messages
    message = messages[0]
    assert message.startswith("Redis pool 'contract'")
    assert ": a connection has been checked out for 0." in message
    assert "longer than LEAK_WARNING=0.2s" in message
    assert "'leaky-caller'" in message  # the thread's or the task's name
    assert "in caller_takes_a_connection" in message  # the frame that checked it out
    assert "tests/contract/drivers.py" in message
    stats = pool_driver.stats()
    assert (stats["leak_warnings"], stats["in_use"]) == (1, 0)


def test_a_connection_released_after_too_long_is_logged_on_release(
    pool_driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    pool_driver.configure(LEAK_WARNING=0.1)
    caller = pool_driver.start_caller("slow-caller", hold=True)
    caller.served()
    time.sleep(0.2)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        caller.release()
        caller.join()
    messages = pool_warnings(caplog)
    assert len(messages) == 1, messages
    assert messages[0].startswith("Redis pool 'contract'")
    assert ": a connection was released after 0." in messages[0]
    assert "in caller_takes_a_connection" in messages[0]
    assert pool_driver.stats()["leak_warnings"] == 1


def test_short_checkouts_are_never_reported(pool_driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    pool_driver.configure(LEAK_WARNING=5)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        for _ in range(30):
            pool_driver.command("PING")
    assert pool_warnings(caplog) == []
    assert (pool_driver.stats()["leak_warnings"], pool_driver.stats()["checkouts"]) == (0, 30)


def test_oldest_checkout_age_is_the_age_of_the_longest_held_connection(pool_driver: Driver) -> None:
    pool_driver.configure(LEAK_WARNING=60, MAX_CONNECTIONS=5)
    assert pool_driver.stats()["oldest_checkout_age_s"] is None  # none checked out
    before_first = time.monotonic()
    first = pool_driver.checkout()
    time.sleep(0.15)
    before_second = time.monotonic()
    second = pool_driver.checkout()
    age = pool_driver.stats()["oldest_checkout_age_s"]
    # The first one's age: at least the sleep since it was checked out, at most the time since
    # its checkout began (rounded to the millisecond).
    assert 0.15 <= age <= time.monotonic() - before_first + 0.001
    pool_driver.release(first)
    age = pool_driver.stats()["oldest_checkout_age_s"]
    assert 0.0 <= age <= time.monotonic() - before_second + 0.001  # now the second one's
    pool_driver.release(second)
    assert pool_driver.stats()["oldest_checkout_age_s"] is None
