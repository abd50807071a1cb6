from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_redis_pool._conf.redaction import redact_options, redact_url
from django_redis_pool._conf.settings import parse_setting


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://alice:s3cret@cache.example:6380/1", "rediss://alice:***@cache.example:6380/1"),
        ("unix:///run/redis.sock?db=1&password=s3cret", "unix:///run/redis.sock?db=1&password=***"),
        ("redis://alice@127.0.0.1:6379/0", "redis://alice@127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("fakeredis://", "fakeredis://"),
        ("redis://:s3cret@[::1", "redis://:***@[::1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_options_masks_secrets_only() -> None:
    assert redact_options({"password": "s3cret", "ssl_password": "x", "db": 1}) == {
        "password": "***",
        "ssl_password": "***",
        "db": 1,
    }


def test_settings_repr_hides_url_and_option_passwords() -> None:
    parsed = parse_setting(
        {"default": {"URL": "rediss://u:s3cret@h:1/0", "OPTIONS": {"ssl_password": "s3cret2"}}}
    )
    text = repr(parsed["default"]) + str(parsed["default"])
    assert "s3cret" not in text
    assert "rediss://u:***@h:1/0" in text
    assert "'ssl_password': '***'" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:Hash#Pw4711@host/0", "redis://***@host/0"),
        ("redis://:Hash?Pw4711@host/0", "redis://***@host/0"),
        ("redis://:Ha/sh@Pw4711@host/0", "redis://***@host/0"),
        ("default:FzPw4711@host:6379/0", "***@host:6379/0"),
        ("redis:/:Pw4711@host", "***@host"),
        ("redis://u:p@ss:w/o%rd#@host:1/0", "redis://***@host:1/0"),
        ("redis://u:Pw@4711@host:1/0", "redis://u:***@host:1/0"),
        ("redis:///:Pw4711@host", "redis://***@host"),
        ("unix:///tmp/a@b.sock", "unix://***@b.sock"),
        ("redis://h/0?password=Pw%23471&db=1", "redis://h/0?password=***&db=1"),
        ("redis://h/0?db=1&pass%77ord=Pw4711#x", "redis://h/0?db=1&pass%77ord=***"),
    ],
)
def test_redact_url_does_not_need_a_parseable_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# Each URL holds the password Pw4711 (raw or percent-encoded) somewhere urlsplit may not find it.
HOSTILE_URLS = [
    "redis://:Hash#Pw4711@host/0",
    "redis://:Hash?Pw4711@host/0",
    "redis://:Hash/Pw4711@host/0",
    "redis://user:Hash/Pw4711@host:6379/0",
    "default:FzPw4711@host:6379/0",
    "redis:/:Pw4711@host",
    "redis:Pw4711@host",
    "redis:///:Pw4711@host",
    "redis://:Pw4711@",
    "redis://:Pw4711@/0",
    "redis://:@:/%#Pw4711@host/0",
    "redis://:Pw4711@@host/0",
    "redis://:Pw4711@host:port/0",
    "redis://:Pw4711@host:99999/0",
    "redis://:Pw4711@[::1/0",
    "redis://:Pw4711@host/zero",
    "redis://:Pw4711@host/0?db=x",
    "redis://:Pw4711@host/0?db=1",
    "redis://:Pw%34711@host/0?socket_timeout=nan",
    "http://:Pw4711@host/0",
    "REDIS://:Pw4711@host/0",
    " redis://:Pw4711@host/0",
    "redis://:Pw4711@host/0?password=Pw4711&socket_timeout=-1",
    "redis://host/0?password=Pw4711&socket_timeout=inf",
    "redis://host/0?password=Pw4711#&max_connections=0",
    "unix://:Pw4711@/tmp/r.sock?db=1&db=x",
    "redis://:Pw4711@host/0\n",
    "redis://:Pw4711@host/0?timeout=1",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
@pytest.mark.parametrize(
    "extra",
    [{}, {"SOCKET_TIMEOUT": 7}, {"BLOCKING": False}, {"OPTIONS": {"db": 3}}, {"OPTIONS": {"password": "x"}}],
)
def test_no_error_nor_repr_shows_the_password(url: str, extra: dict[str, object]) -> None:
    try:
        parsed = parse_setting({"default": {"URL": url, **extra}})
    except ImproperlyConfigured as exc:
        text = str(exc)
    else:
        text = repr(parsed["default"]) + repr(parsed)
    for secret in ("Pw4711", "Pw%34711"):
        assert secret not in text
