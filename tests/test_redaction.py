from __future__ import annotations

import pytest

from django_redis_pool import redact_url
from django_redis_pool.conf import parse_setting
from django_redis_pool.redaction import redact_options


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("rediss://alice:s3cret@cache.example:6380/1", "rediss://alice:***@cache.example:6380/1"),
        ("unix:///run/redis.sock?db=1&password=s3cret", "unix:///run/redis.sock?db=1&password=***"),
        ("redis://alice@127.0.0.1:6379/0", "redis://alice@127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("fakeredis://", "fakeredis://"),
        ("redis://:s3cret@[::1", "redis://***"),
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
    parsed = parse_setting({"default": {"URL": "redis://u:s3cret@h:1/0", "OPTIONS": {"password": "s3cret2"}}})
    text = repr(parsed["default"]) + str(parsed["default"])
    assert "s3cret" not in text
    assert "redis://u:***@h:1/0" in text
    assert "'password': '***'" in text
