"""A URL that gives one value twice is a startup error naming the alias and the key, redacted.

redis-py reads ``redis://:A@host/0?password=B`` as password ``A`` and drops ``B`` without a word: a
deployment that rotates one of the two keeps using the other.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_redis_pool._conf.settings import parse_setting
from django_redis_pool._registry import sync as registry


def error_of(url: str) -> str:
    with pytest.raises(ImproperlyConfigured) as info:
        parse_setting({"sessions": {"URL": url}})
    return str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "redis://:Secret-A@h/0?password=Secret-B",
            "REDIS_POOL['sessions']['URL'] gives the password twice, also as its query argument "
            "'password': 'redis://:***@h/0?password=***'. Keep one.",
        ),
        (
            "redis://alice:Secret-A@h/0?username=bob",
            "REDIS_POOL['sessions']['URL'] gives the user name twice, also as its query argument "
            "'username': 'redis://alice:***@h/0?username=bob'. Keep one.",
        ),
        (
            "rediss://alice@h:6380/0?username=bob",
            "REDIS_POOL['sessions']['URL'] gives the user name twice, also as its query argument "
            "'username': 'rediss://alice@h:6380/0?username=bob'. Keep one.",
        ),
        (
            "redis://h:6380/0?host=other",
            "REDIS_POOL['sessions']['URL'] gives the host twice, also as its query argument 'host': "
            "'redis://h:6380/0?host=other'. Keep one.",
        ),
        (
            "redis://h:6380/0?port=6379",
            "REDIS_POOL['sessions']['URL'] gives the port twice, also as its query argument 'port': "
            "'redis://h:6380/0?port=6379'. Keep one.",
        ),
        (
            "unix:///tmp/r.sock?path=/tmp/other.sock",
            "REDIS_POOL['sessions']['URL'] gives the socket path twice, also as its query argument "
            "'path': 'unix:///tmp/r.sock?path=/tmp/other.sock'. Keep one.",
        ),
        (
            "redis://:Secret-A@h/3?db=4",
            "REDIS_POOL['sessions']['URL'] gives the database twice, as its path '/3' and as its query "
            "argument 'db': 'redis://:***@h/3?db=4'. Keep one.",
        ),
        (
            "redis://:Secret-A@h/0?password=Secret-B&password=Secret-C",
            "REDIS_POOL['sessions']['URL'] gives its query argument 'password' more than once: "
            "'redis://:***@h/0?password=***&password=***'. Keep one.",
        ),
    ],
)
def test_a_value_given_twice_in_the_url_names_alias_and_key_redacted(url: str, message: str) -> None:
    error = error_of(url)
    assert error == message
    assert "Secret" not in error


@pytest.mark.parametrize(
    "url", ["redis://:Secret-A@h/0", "redis://h/0?password=Secret-B", "redis://alice:Secret-A@h?db=2"]
)
def test_each_value_once_is_accepted(url: str) -> None:
    assert parse_setting({"sessions": {"URL": url}})["sessions"].url == url


def test_the_password_twice_fails_the_startup_build() -> None:
    with override_settings(REDIS_POOL={"sessions": {"URL": "redis://:Secret-A@h/0?password=Secret-B"}}):
        error = registry.build_error()
        assert error is not None
        assert str(error).startswith("REDIS_POOL['sessions']['URL'] gives the password twice")
        with pytest.raises(ImproperlyConfigured, match="gives the password twice"):
            registry.build_all(raise_errors=True)
