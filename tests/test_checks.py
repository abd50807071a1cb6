from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_redis_pool import checks as checks_module
from django_redis_pool.checks import ALL_IDS, check_deploy, check_settings

SAFE = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5, "MAX_CONNECTIONS": 20}
LOCAL = "redis://127.0.0.1:6379/0"
REDIS_PY_MAJOR = int(redis.__version__.split(".")[0])


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_a_good_configuration_is_silent(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": LOCAL, **SAFE},
        "remote": {"URL": "rediss://app:pw@cache.internal:6380/0", **SAFE},
    }
    assert check_settings() == []
    assert check_deploy() == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"URL": LOCAL, **SAFE, "SOCKET_TIMEOUT": None}, ["django_redis_pool.W001"]),
        ({"URL": LOCAL, **SAFE, "SOCKET_CONNECT_TIMEOUT": None}, []),  # falls back to SOCKET_TIMEOUT
        (
            {"URL": LOCAL, **SAFE, "SOCKET_TIMEOUT": None, "SOCKET_CONNECT_TIMEOUT": None},
            ["django_redis_pool.W001", "django_redis_pool.W002"],
        ),
        ({"URL": LOCAL, **SAFE, "POOL_TIMEOUT": None}, ["django_redis_pool.W003"]),
        ({"URL": LOCAL, **SAFE, "MAX_CONNECTIONS": 10_001}, ["django_redis_pool.W004"]),
        ({"URL": LOCAL, **SAFE, "MAX_CONNECTIONS": 10_000}, []),
    ],
)
def test_each_check_is_raised_by_exactly_its_config(
    settings: Any, config: dict[str, Any], expected: list[str]
) -> None:
    settings.REDIS_POOL = {"default": config}
    assert ids(check_settings()) == expected


def test_a_timeout_given_in_the_url_counts_as_given(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": f"{LOCAL}?socket_timeout=3&socket_connect_timeout=2", "POOL_TIMEOUT": 5}
    }
    assert check_settings() == []


def test_checks_use_the_installed_redis_py_defaults(settings: Any) -> None:
    """redis-py 8 defaults to 5 s timeouts and 100 connections; redis-py 5 to none and 2**31."""
    settings.REDIS_POOL = {"default": {"URL": LOCAL, "BLOCKING": False}}
    no_timeouts_nor_bound = ["django_redis_pool.W001", "django_redis_pool.W002", "django_redis_pool.W004"]
    expected = [] if REDIS_PY_MAJOR >= 6 else no_timeouts_nor_bound
    assert ids(check_settings()) == expected


def test_w004_full_message(settings: Any) -> None:
    settings.REDIS_POOL = {"cache": {"URL": LOCAL, **SAFE, "MAX_CONNECTIONS": 50_000}}
    assert check_settings() == [
        Warning(
            "REDIS_POOL['cache'] allows 50000 connections per process: effectively unbounded, more than "
            "the server's default maxclients (10000) for one process.",
            hint="Set 'MAX_CONNECTIONS' in REDIS_POOL['cache'] to what one process needs "
            "(its threads, e.g. 10).",
            id="django_redis_pool.W004",
        )
    ]


def test_w003_full_message(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": LOCAL, **SAFE, "POOL_TIMEOUT": None}}
    assert check_settings() == [
        Warning(
            "REDIS_POOL['default'] is a blocking pool with no POOL_TIMEOUT: when every connection is busy, "
            "a caller waits forever for one to be released.",
            hint="Set 'POOL_TIMEOUT': 5 in REDIS_POOL['default'].",
            id="django_redis_pool.W003",
        )
    ]


def test_invalid_setting_is_e001_and_redacted(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "http://:hunter2@example.com/0"}}
    errors = check_settings()
    assert ids(errors) == ["django_redis_pool.E001"]
    assert isinstance(errors[0], Error)
    assert "REDIS_POOL['default']['URL'] has scheme http://" in errors[0].msg
    assert "hunter2" not in errors[0].msg
    assert "http://:***@example.com/0" in errors[0].msg


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:pw@cache.internal:6379/0", ["django_redis_pool.W005"]),
        ("redis://10.0.0.5:6379/0", ["django_redis_pool.W005", "django_redis_pool.W006"]),
        ("rediss://cache.internal:6380/0", ["django_redis_pool.W006"]),
        ("rediss://app:pw@cache.internal:6380/0", []),
        ("redis://127.0.0.1:6379/0", []),
        ("redis://localhost:6379/0", []),
        ("redis://[::1]:6379/0", []),
        ("unix:///run/redis.sock", []),
        ("fakeredis://", ["django_redis_pool.W007"]),
    ],
)
def test_deploy_checks(settings: Any, url: str, expected: list[str]) -> None:
    settings.REDIS_POOL = {"default": {"URL": url, **SAFE}}
    assert ids(check_deploy()) == expected


def test_password_in_options_counts_as_credentials(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": "rediss://cache.internal:6380/0", **SAFE, "OPTIONS": {"password": "x"}}
    }
    assert check_deploy() == []


def test_check_messages_never_show_a_password(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://:hunter2@cache.internal:6379/0"}}
    text = " ".join(f"{m} {m.hint}" for m in check_settings() + check_deploy())
    assert "django_redis_pool.W005" in text
    assert "hunter2" not in text


def test_all_ids_are_distinct_and_every_emitted_id_is_listed() -> None:
    assert len(set(ALL_IDS)) == len(ALL_IDS)
    source = Path(checks_module.__file__).read_text()
    emitted = re.findall(r'id="(django_redis_pool\.[EW]\d{3})"', source)
    # Each ID is raised at exactly one place, and the list of IDs is exactly those.
    assert sorted(emitted) == sorted(ALL_IDS)


def test_checks_are_registered_with_manage_py_check(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": LOCAL, **SAFE, "POOL_TIMEOUT": None}}
    with pytest.raises(SystemCheckError) as info:
        call_command("check", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    assert "django_redis_pool.W003" in str(info.value)


def test_deploy_checks_run_only_with_deploy(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE}}
    call_command("check", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(SystemCheckError) as info:
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    assert "django_redis_pool.W007" in str(info.value)
