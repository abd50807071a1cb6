"""The registry on the in-process fakeredis backend: no server needed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_redis_pool import UnknownAliasError, get_pool, get_redis, get_stats
from django_redis_pool._pool.thread_driver import BlockingPool, NonBlockingPool
from django_redis_pool._registry import sync as registry


def test_get_redis_returns_the_same_client_on_the_process_pool() -> None:
    client = get_redis()
    assert client is get_redis("default")
    assert client.connection_pool is get_pool()
    assert isinstance(get_pool(), BlockingPool)


def test_fake_backend_round_trip() -> None:
    client = get_redis()
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_fake_backend_has_one_server_per_alias(settings: Any) -> None:
    settings.REDIS_POOL = {"a": {"URL": "fakeredis://"}, "b": {"URL": "fakeredis:///1"}}
    get_redis("a").set("k", "from a")
    assert get_redis("b").get("k") is None
    assert get_pool("b").connection_kwargs["db"] == 1


def test_unknown_alias_names_it_and_lists_the_configured_ones(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://"}, "sessions": {"URL": "fakeredis://"}}
    with pytest.raises(UnknownAliasError) as info:
        get_redis("sesions")
    assert str(info.value) == "REDIS_POOL has no alias 'sesions'; configured aliases: 'default', 'sessions'."
    with pytest.raises(UnknownAliasError):
        get_pool("nope")
    with pytest.raises(UnknownAliasError):
        get_stats("nope")


def test_no_aliases_at_all_says_so(settings: Any) -> None:
    settings.REDIS_POOL = {}
    with pytest.raises(UnknownAliasError) as info:
        get_redis()
    assert str(info.value) == "REDIS_POOL has no alias 'default'; configured aliases: none (set REDIS_POOL)."


def test_override_settings_rebuilds_and_disconnects_the_old_pool() -> None:
    old_pool = get_pool()
    old_client = get_redis()
    old_client.ping()
    with override_settings(REDIS_POOL={"default": {"URL": "fakeredis://", "MAX_CONNECTIONS": 3}}):
        assert get_pool() is not old_pool
        assert get_pool().max_connections == 3
        get_redis().ping()
        inner = get_pool()
    assert get_pool() is not inner
    assert get_pool().max_connections != 3
    assert registry.get_entry().settings.kwargs["timeout"] == 5


def test_invalid_setting_under_override_is_kept_for_checks_and_get_redis() -> None:
    with override_settings(REDIS_POOL={"default": {"URL": "http://nope"}}):
        error = registry.build_error()
        assert error is not None
        assert "REDIS_POOL['default']['URL'] has scheme http://" in str(error)
        with pytest.raises(ImproperlyConfigured) as info:
            get_redis()
        assert str(info.value).startswith(
            "REDIS_POOL is invalid, so no pool was built: REDIS_POOL['default']"
        )
    assert registry.build_error() is None
    get_redis().ping()


def test_build_all_raises_at_startup_for_an_invalid_setting(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "MAX_CONECTIONS": 1}}
    with pytest.raises(ImproperlyConfigured, match="Did you mean 'MAX_CONNECTIONS'"):
        registry.build_all(raise_errors=True)


def test_unknown_redis_py_option_fails_at_startup_not_at_request_time(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://127.0.0.1:1/0", "OPTIONS": {"sockettimeout": 1}}}
    error = registry.build_error()
    assert error is not None
    # redis-py 8 names AbstractConnection.__init__(), redis-py 5 __init__(); Python 3.13 adds a hint.
    assert re.fullmatch(
        r"REDIS_POOL\['default'\]\['OPTIONS'\]\['sockettimeout'\] is refused by redis-py: "
        r"(AbstractConnection\.)?__init__\(\) got an unexpected keyword argument 'sockettimeout'"
        r"(\. Did you mean 'socket_timeout'\?)?",
        str(error),
    )


def test_non_blocking_pool_is_built_when_asked(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "BLOCKING": False, "MAX_CONNECTIONS": 4}}
    assert type(get_pool()) is NonBlockingPool
    assert registry.get_entry().limits.pool_timeout is None


def test_missing_keys_keep_the_installed_redis_py_defaults(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://127.0.0.1:1/0", "BLOCKING": False}}
    limits = registry.get_entry().limits
    default_connection = redis.Connection()
    default_pool = redis.ConnectionPool()
    assert limits.socket_timeout == default_connection.socket_timeout
    assert limits.socket_connect_timeout == default_connection.socket_connect_timeout
    assert limits.max_connections == default_pool.max_connections
    assert "socket_timeout" not in get_pool().connection_kwargs


def test_pool_repr_names_alias_and_redacts(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://u:hunter2@127.0.0.1:1/0", "MAX_CONNECTIONS": 7}}
    text = repr(get_pool()) + repr(get_redis()) + str(get_pool())
    assert "hunter2" not in text
    assert repr(get_pool()) == (
        "<BlockingPool alias='default' url='redis://u:***@127.0.0.1:1/0' max_connections=7, pool_timeout=5.0>"
    )


def test_close_all_empties_the_registry_until_rebuilt() -> None:
    registry.close_all()
    with pytest.raises(UnknownAliasError):
        get_redis()
    registry.build_all()
    get_redis().ping()


def test_bad_url_query_argument_fails_at_startup_redacted(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://:hunter2@127.0.0.1:1/0?socket_timeout=abc"}}
    error = registry.build_error()
    assert error is not None
    # redis-py 5 quotes the name with backticks, redis-py 8 with quotes.
    assert re.fullmatch(
        r"REDIS_POOL\['default'\]\['URL'\] is refused by redis-py: Invalid value for "
        r"[`']socket_timeout[`'] in connection URL\. \('redis://:\*\*\*@127\.0\.0\.1:1/0\?socket_timeout=abc'\)",
        str(error),
    )


def test_the_public_api_is_what_the_readme_documents() -> None:
    import django_redis_pool

    assert sorted(django_redis_pool.__all__) == [
        "CircuitOpenError",
        "NoSinglePoolError",
        "PoolExhaustedError",
        "UnknownAliasError",
        "aclose_pools",
        "get_async_redis",
        "get_pool",
        "get_redis",
        "get_redis_connection",
        "get_stats",
    ]
    assert not hasattr(django_redis_pool, "redact_url")
