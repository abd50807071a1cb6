"""The stats: the same keys with the same types on both drivers, and wait summaries that mean something."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from django_redis_pool import PoolExhaustedError
from django_redis_pool._pool.counters import STATS_KEYS
from tests.contract.drivers import Driver
from tests.contract.expected import COUNTS, DURATIONS, TEXTS
from tests.support.redis_server import free_port


def type_names(stats: dict[str, Any]) -> dict[str, str]:
    """Each key of STATS_KEYS -> the name of its value's type ("missing" when it is absent)."""
    return {key: type(stats[key]).__name__ if key in stats else "missing" for key in STATS_KEYS}


def expected_types(oldest_checkout: str) -> dict[str, str]:
    expected = dict.fromkeys(COUNTS, "int") | dict.fromkeys(DURATIONS, "float") | dict.fromkeys(TEXTS, "str")
    expected["oldest_checkout_age_s"] = oldest_checkout
    return {key: expected[key] for key in STATS_KEYS}


def test_the_stats_keys_are_known() -> None:
    assert set(STATS_KEYS) == {*COUNTS, *DURATIONS, *TEXTS, "oldest_checkout_age_s"}
    assert len(STATS_KEYS) == len(set(STATS_KEYS))


def test_the_stats_have_every_key_with_one_type_on_both_drivers(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=0.05, LEAK_WARNING=60)
    assert type_names(pool_driver.stats()) == expected_types("NoneType")  # a pool never used
    held = pool_driver.checkout()
    with pytest.raises(PoolExhaustedError):
        pool_driver.checkout()
    assert type_names(pool_driver.stats()) == expected_types("float")  # one held, one wait
    pool_driver.release(held)
    assert type_names(pool_driver.stats()) == expected_types("NoneType")


def test_each_pool_reports_exactly_the_stats_keys_in_order(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2, LEAK_WARNING=60)
    held = pool_driver.checkout()
    stats = pool_driver.pool_stats()
    assert list(stats) == list(STATS_KEYS)
    assert type_names(stats) == expected_types("float")
    pool_driver.release(held)


def test_wait_percentiles_cover_the_waits(pool_driver: Driver) -> None:
    timeout = 0.1
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=timeout)
    fresh = pool_driver.stats()
    assert [fresh[key] for key in DURATIONS] == [0.0] * len(DURATIONS)
    held = pool_driver.checkout()
    for _ in range(3):
        with pytest.raises(PoolExhaustedError):
            pool_driver.checkout()
    pool_driver.release(held)
    stats = pool_driver.stats()
    assert (stats["waits"], stats["exhausted"]) == (3, 3)
    # Every wait ended by its timeout, so lasted about POOL_TIMEOUT; with three waits, the 99th
    # percentile is the longest, which is also the longest ever.
    assert timeout * 900 <= stats["wait_ms_p50"] <= stats["wait_ms_p99"]
    assert stats["wait_ms_p99"] == stats["wait_ms_window_max"] == stats["wait_ms_max"]
    assert 3 * timeout * 900 <= stats["wait_ms_total"] <= 3 * stats["wait_ms_max"] + 0.01


def test_a_short_wait_and_long_waits_give_distinct_percentiles(pool_driver: Driver) -> None:
    # Five waits that time out and one that a release ends at once: p50 is a timed-out wait, and
    # p99 (nearest rank, of six) is the longest; the short one pulls neither.
    timeout = 0.1
    pool_driver.configure(MAX_CONNECTIONS=1, POOL_TIMEOUT=timeout)
    held = pool_driver.checkout()
    for _ in range(5):
        with pytest.raises(PoolExhaustedError):
            pool_driver.checkout()
    waiter = pool_driver.start_caller("waiter")
    pool_driver.wait_for_waiting(1)
    pool_driver.release(held)
    waiter.join()
    stats = pool_driver.stats()
    assert (stats["waits"], stats["exhausted"], stats["checkouts"]) == (6, 5, 2)
    assert timeout * 900 <= stats["wait_ms_p50"] <= stats["wait_ms_p99"] == stats["wait_ms_window_max"]
    assert stats["wait_ms_total"] < 6 * stats["wait_ms_max"]


def test_a_failed_connect_is_a_connection_error_and_keeps_its_slot(pool_driver: Driver) -> None:
    pool_driver.configure(
        URL=f"redis://127.0.0.1:{free_port()}/0",
        MAX_CONNECTIONS=1,
        POOL_TIMEOUT=0.05,
        OPTIONS={"retry": None},
    )
    for _ in range(3):
        with pytest.raises(redis.ConnectionError) as info:
            pool_driver.command("PING")
        assert not isinstance(info.value, PoolExhaustedError)  # the one slot came back each time
    stats = pool_driver.stats()
    counted = (
        "connection_errors",
        "checkouts",
        "connections_created",
        "in_use",
        "idle",
        "waits",
        "exhausted",
    )
    assert {key: stats[key] for key in counted} == {
        "connection_errors": 3,
        "checkouts": 0,
        "connections_created": 0,
        "in_use": 0,
        "idle": 0,
        "waits": 0,
        "exhausted": 0,
    }


def test_a_connection_killed_by_the_server_is_replaced_and_counted(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2)
    first = pool_driver.command("CLIENT", "ID")
    pool_driver.server.admin().client_kill_filter(_id=first)
    second = pool_driver.command("CLIENT", "ID")  # the pooled connection reconnects on its retry
    assert second != first
    stats = pool_driver.stats()
    assert (stats["connections_created"], stats["checkouts"], stats["in_use"], stats["idle"]) == (2, 2, 0, 1)
