"""django_redis_pool.W012: retries that no COMMAND_TIMEOUT bounds."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from django_redis_pool.checks import check_settings

SAFE = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5, "MAX_CONNECTIONS": 20}
LOCAL = "redis://127.0.0.1:6379/0"
THREE_RETRIES = {"retry": Retry(ExponentialBackoff(), 3)}  # redis-py 5's default is no retries


class MyRetry(Retry):
    """A user's own retry policy: COMMAND_TIMEOUT leaves it alone."""


def test_retries_bounded_by_the_default_or_a_given_command_timeout_are_silent(settings: Any) -> None:
    settings.REDIS_POOL = {
        "derived": {"URL": LOCAL, **SAFE, "OPTIONS": THREE_RETRIES},
        "given": {"URL": LOCAL, **SAFE, "COMMAND_TIMEOUT": 2, "OPTIONS": THREE_RETRIES},
        "no_retries": {"URL": LOCAL, **SAFE, "COMMAND_TIMEOUT": None, "OPTIONS": {"retry": None}},
    }
    assert check_settings() == []


def test_w012_command_timeout_none_with_retries(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": LOCAL, **SAFE, "COMMAND_TIMEOUT": None, "OPTIONS": THREE_RETRIES}
    }
    assert check_settings() == [
        Warning(
            "REDIS_POOL['default'] retries a failed command 3 times and no COMMAND_TIMEOUT bounds them: one "
            "call to a stalled or black-holed server can take 4 attempts of up to 10s each (40s), plus "
            "backoff.",
            hint="Remove 'COMMAND_TIMEOUT': None from REDIS_POOL['default'] (it defaults to 10s, one "
            "attempt), or set the seconds one call may take in all.",
            id="django_redis_pool.W012",
        )
    ]


def test_w012_a_retry_subclass_is_not_bounded(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": LOCAL, **SAFE, "OPTIONS": {"retry": MyRetry(ExponentialBackoff(), 2)}}
    }
    [warning] = check_settings()
    assert (warning.id, warning.hint) == (
        "django_redis_pool.W012",
        "The 'retry' in REDIS_POOL['default']['OPTIONS'] is a subclass of redis-py's Retry, which "
        "COMMAND_TIMEOUT cannot bound: use redis.retry.Retry itself, or fewer retries.",
    )


def test_w012_command_timeout_on_a_cluster_alias(settings: Any) -> None:
    cluster = {"CLUSTER": True, "STARTUP_NODES": [("127.0.0.1", 7000)], **SAFE}
    settings.REDIS_POOL = {"cluster": cluster}
    assert check_settings() == []
    settings.REDIS_POOL = {"cluster": {**cluster, "COMMAND_TIMEOUT": 1}}
    assert check_settings() == [
        Warning(
            "REDIS_POOL['cluster'] is a Cluster alias: its 'COMMAND_TIMEOUT' has no effect, because "
            "RedisCluster retries a command in its own loop, not through the connections' retry.",
            hint="Remove 'COMMAND_TIMEOUT' from REDIS_POOL['cluster']; bound a call with 'SOCKET_TIMEOUT' "
            "and the 'retry' of its 'OPTIONS' (attempts x timeouts).",
            id="django_redis_pool.W012",
        )
    ]
