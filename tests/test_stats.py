from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from django_redis_pool import get_pool, get_redis, get_stats
from django_redis_pool._pool.counters import STATS_KEYS
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import RedisServer, free_port


def test_get_stats_without_alias_covers_every_alias(settings: Any) -> None:
    settings.REDIS_POOL = {"a": {"URL": "fakeredis://"}, "b": {"URL": "fakeredis://", "MAX_CONNECTIONS": 3}}
    stats = get_stats()
    assert list(stats) == ["a", "b"]
    assert tuple(stats["b"]) == STATS_KEYS
    assert stats["b"]["max_connections"] == 3
    assert stats["a"] == get_stats("a")


def test_in_use_idle_and_peak(real_redis: RedisServer) -> None:
    pool = get_pool()
    held = [checkout(pool) for _ in range(3)]
    stats = get_stats("default")
    assert (stats["in_use"], stats["idle"], stats["peak_in_use"]) == (3, 0, 3)
    for connection in held:
        pool.release(connection)
    get_redis().get("k")
    stats = get_stats("default")
    assert (stats["in_use"], stats["idle"], stats["peak_in_use"]) == (0, 3, 3)
    assert (stats["checkouts"], stats["connections_created"], stats["waits"]) == (4, 3, 0)


def test_a_caller_that_finds_the_pool_full_is_counted_as_a_wait(
    redis_server: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, **SAFE_LIMITS, "MAX_CONNECTIONS": 1}}
    pool = get_pool()
    held = checkout(pool)
    releaser = threading.Timer(0.1, pool.release, args=(held,))
    releaser.start()
    started = time.monotonic()
    get_redis().get("k")
    waited_ms = (time.monotonic() - started) * 1000
    releaser.join()
    stats = get_stats("default")
    assert (stats["waits"], stats["exhausted"], stats["connections_created"]) == (1, 0, 1)
    assert 0 < stats["wait_ms_max"] <= waited_ms + 1
    assert stats["wait_ms_total"] == stats["wait_ms_max"]


def test_connection_errors_are_counted_and_the_slot_is_given_back(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {
            "URL": f"redis://127.0.0.1:{free_port()}/0",
            **SAFE_LIMITS,
            "MAX_CONNECTIONS": 1,
            "OPTIONS": {"retry": None},
        }
    }
    for _ in range(3):
        with pytest.raises(redis.ConnectionError) as info:
            get_redis().get("k")
        assert type(info.value) is redis.ConnectionError
    stats = get_stats("default")
    # With one connection allowed, three failures in a row prove no slot leaked.
    assert (stats["connection_errors"], stats["exhausted"], stats["in_use"], stats["checkouts"]) == (
        3,
        0,
        0,
        0,  # a checkout counts once the caller has a working connection
    )
