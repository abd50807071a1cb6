"""How a pool names an error: the same class and attributes, the alias first, the password masked."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from django_redis_pool._pool import errors
from django_redis_pool.exceptions import PoolExhaustedError


class StandInPool:
    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.connection_kwargs: dict[str, Any] = {"password": "s3cret-Pa55", "ssl_password": None}


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.AuthenticationError("invalid username-password pair or user is disabled."),
        redis.TimeoutError("Timeout connecting to server"),
        PoolExhaustedError("default", 1, 0.5),  # a constructor of its own: never called again
    ],
)
def test_a_named_error_keeps_its_class_attributes_and_message_behind_the_alias(error: Exception) -> None:
    vars(error)["seen_by"] = "test"
    named = errors.named(StandInPool("default"), error)
    assert (type(named), str(named)) == (type(error), f"REDIS_POOL['default']: {error}")
    assert vars(named) == vars(error)
    assert (named.__traceback__, named.__cause__) == (None, None)


def test_a_password_quoted_by_an_error_is_masked() -> None:
    named = errors.named(StandInPool("default"), redis.ConnectionError("AUTH s3cret-Pa55 refused"))
    assert str(named) == "REDIS_POOL['default']: AUTH *** refused"


def test_a_caches_own_pool_is_named_by_its_cache() -> None:
    named = errors.named(StandInPool("CACHES['default']"), redis.ConnectionError("Connection refused."))
    assert str(named) == "CACHES['default']: Connection refused."


def test_only_failures_no_watched_connect_counted_are_uncounted() -> None:
    counted = redis.ConnectionError("x")
    vars(counted)["counted"] = True
    assert [errors.uncounted(e) for e in (redis.ConnectionError("x"), OSError(), counted, ValueError())] == [
        True,
        True,
        False,
        False,
    ]
