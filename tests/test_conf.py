from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_redis_pool.conf import PoolSettings, get_settings, parse_setting

URL = "redis://127.0.0.1:6379/0"


def error_of(setting: Any) -> str:
    with pytest.raises(ImproperlyConfigured) as info:
        parse_setting(setting)
    return str(info.value)


def test_valid_setting_keeps_only_given_keys_as_redis_py_arguments() -> None:
    parsed = parse_setting(
        {
            "default": {
                "URL": URL,
                "MAX_CONNECTIONS": 50,
                "POOL_TIMEOUT": 5.0,
                "SOCKET_TIMEOUT": 5.0,
                "SOCKET_CONNECT_TIMEOUT": 2,
                "HEALTH_CHECK_INTERVAL": 30,
                "OPTIONS": {"decode_responses": True},
            },
            "sessions": {"URL": "redis://127.0.0.1:6379/1"},
        }
    )
    assert dict(parsed["default"].kwargs) == {
        "max_connections": 50,
        "timeout": 5.0,
        "socket_timeout": 5.0,
        "socket_connect_timeout": 2,
        "health_check_interval": 30,
        "decode_responses": True,
    }
    assert parsed["sessions"] == PoolSettings(alias="sessions", url="redis://127.0.0.1:6379/1")
    assert dict(parsed["sessions"].kwargs) == {}
    assert parsed["sessions"].blocking is True


def test_the_users_dict_is_not_mutated() -> None:
    setting = {"default": {"URL": "redis://h", "OPTIONS": {"db": 2}}}
    parse_setting(setting)
    assert setting == {"default": {"URL": "redis://h", "OPTIONS": {"db": 2}}}


def test_get_settings_reads_the_django_setting(settings: Any) -> None:
    settings.REDIS_POOL = {"x": {"URL": URL}}
    assert list(get_settings()) == ["x"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ([], "REDIS_POOL must be a dict of aliases, got list."),
        ({"default": "redis://x"}, "REDIS_POOL['default'] must be a dict, got str."),
        ({"": {"URL": URL}}, "REDIS_POOL aliases must be non-empty strings, got ''."),
        (
            {"default": {}},
            "REDIS_POOL['default'] has no 'URL'. Set it, e.g. 'URL': 'redis://127.0.0.1:6379/0'.",
        ),
        ({"default": {"URL": 5}}, "REDIS_POOL['default']['URL'] must be a URL string, got int."),
        (
            {"default": {"URL": URL, "MAX_CONNECTIONS": -3}},
            "REDIS_POOL['default']['MAX_CONNECTIONS'] must be a positive int, got -3.",
        ),
        (
            {"default": {"URL": URL, "MAX_CONNECTIONS": 0}},
            "REDIS_POOL['default']['MAX_CONNECTIONS'] must be a positive int, got 0.",
        ),
        (
            {"default": {"URL": URL, "MAX_CONNECTIONS": "10"}},
            "REDIS_POOL['default']['MAX_CONNECTIONS'] must be a positive int, got '10'.",
        ),
        (
            {"default": {"URL": URL, "MAX_CONNECTIONS": True}},
            "REDIS_POOL['default']['MAX_CONNECTIONS'] must be a positive int, got True.",
        ),
        (
            {"default": {"URL": URL, "MAX_CONNECTIONS": None}},
            "REDIS_POOL['default']['MAX_CONNECTIONS'] must be a positive int, got None.",
        ),
        (
            {"default": {"URL": URL, "SOCKET_TIMEOUT": 0}},
            "REDIS_POOL['default']['SOCKET_TIMEOUT'] must be a positive number of seconds, at most 86400 "
            "(one day), or None, got 0.",
        ),
        (
            {"default": {"URL": URL, "POOL_TIMEOUT": -1.5}},
            "REDIS_POOL['default']['POOL_TIMEOUT'] must be a positive number of seconds, at most 86400 "
            "(one day), or None, got -1.5.",
        ),
        (
            {"cache": {"URL": URL, "SOCKET_CONNECT_TIMEOUT": "5"}},
            "REDIS_POOL['cache']['SOCKET_CONNECT_TIMEOUT'] must be a positive number of seconds, at most "
            "86400 (one day), or None, got '5'.",
        ),
        (
            {"default": {"URL": URL, "HEALTH_CHECK_INTERVAL": -1}},
            "REDIS_POOL['default']['HEALTH_CHECK_INTERVAL'] must be a number of seconds from 0 (off) to "
            "86400 (one day), got -1.",
        ),
        (
            {"default": {"URL": URL, "BLOCKING": "yes"}},
            "REDIS_POOL['default']['BLOCKING'] must be True or False, got 'yes'.",
        ),
        (
            {"default": {"URL": URL, "OPTIONS": []}},
            "REDIS_POOL['default']['OPTIONS'] must be a dict, got list.",
        ),
        (
            {"default": {"URL": URL, "OPTIONS": {1: 2}}},
            "REDIS_POOL['default']['OPTIONS'] keys must be strings, got 1.",
        ),
        (
            {"default": {"URL": URL, "CLIENT_NAME": "my app"}},
            "REDIS_POOL['default']['CLIENT_NAME'] must be None or a non-empty string of printable ASCII "
            "characters ('!' to '~', as Redis requires) other than ':', got 'my app'.",
        ),
    ],
)
def test_invalid_values_name_alias_and_key(setting: Any, message: str) -> None:
    assert error_of(setting) == message


def test_unknown_key_suggests_the_close_one() -> None:
    message = error_of({"cache": {"URL": URL, "MAX_CONECTIONS": 5}})
    assert message.startswith(
        "REDIS_POOL['cache'] has an unknown key 'MAX_CONECTIONS'. Did you mean 'MAX_CONNECTIONS'?"
    )


def test_unknown_key_far_from_all_lists_known_keys() -> None:
    message = error_of({"cache": {"URL": URL, "ZZZ": 5}})
    assert "Did you mean" not in message
    assert "Known keys: URL, BLOCKING, CLIENT_NAME, OPTIONS, SOCKET_TIMEOUT" in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "has scheme http:// in 'http://127.0.0.1:6379'; use one of redis://"),
        ("127.0.0.1:6379", "has scheme none in '127.0.0.1:6379'"),
        ("localhost", "has scheme none in 'localhost'"),
        ("redis://127.0.0.1:notaport/0", "is not a valid URL: 'redis://127.0.0.1:notaport/0'."),
        ("redis://:secret@127.0.0.1:99999/0", "is not a valid URL: 'redis://:***@127.0.0.1:99999/0'."),
        ("redis:///0", "has no host: 'redis:///0'."),
        ("unix://", "has no socket path"),
        ("redis://127.0.0.1:6379/zero", "has a database 'zero' that is not a number"),
    ],
)
def test_bad_urls_are_named_with_the_password_redacted(url: str, message: str) -> None:
    error = error_of({"default": {"URL": url}})
    assert error.startswith("REDIS_POOL['default']['URL'] ")
    assert message in error
    assert "secret" not in error


@pytest.mark.parametrize(
    "url", ["redis://h:1/0", "rediss://u:p@h:6380/1", "unix:///tmp/r.sock?db=2", "fakeredis://"]
)
def test_each_supported_scheme_parses(url: str) -> None:
    assert parse_setting({"a": {"URL": url}})["a"].url == url


@pytest.mark.parametrize(
    ("keyword", "key"),
    [
        ("max_connections", "MAX_CONNECTIONS"),
        ("timeout", "POOL_TIMEOUT"),
        ("socket_timeout", "SOCKET_TIMEOUT"),
        ("socket_connect_timeout", "SOCKET_CONNECT_TIMEOUT"),
        ("health_check_interval", "HEALTH_CHECK_INTERVAL"),
    ],
)
def test_options_may_not_bypass_the_validated_keys(keyword: str, key: str) -> None:
    # {"max_connections": 0} used to become 100 silently, {"socket_timeout": -1} to be shown as -1s.
    message = error_of({"default": {"URL": URL, "OPTIONS": {keyword: -1}}})
    assert message == (
        f"REDIS_POOL['default']['OPTIONS'] must not set {keyword!r}: use {key!r} in REDIS_POOL['default'], "
        "which is validated."
    )


@pytest.mark.parametrize("name", ["connection_pool", "connection_class", "queue_class", "client_name"])
def test_options_the_app_owns_are_refused(name: str) -> None:
    message = error_of({"default": {"URL": URL, "OPTIONS": {name: object()}}})
    assert message.startswith(f"REDIS_POOL['default']['OPTIONS'] must not set {name!r}")


def test_pool_timeout_with_non_blocking_pool_is_refused() -> None:
    message = error_of({"default": {"URL": URL, "BLOCKING": False, "POOL_TIMEOUT": 1}})
    assert message.startswith("REDIS_POOL['default']['POOL_TIMEOUT'] has no effect with 'BLOCKING': False")


def test_none_timeouts_are_accepted_for_a_check_to_report() -> None:
    parsed = parse_setting({"d": {"URL": URL, "SOCKET_TIMEOUT": None, "POOL_TIMEOUT": None}})
    assert dict(parsed["d"].kwargs) == {"socket_timeout": None, "timeout": None}
