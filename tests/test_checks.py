from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.views.debug import SafeExceptionReporterFilter

from django_redis_pool import checks as checks_module
from django_redis_pool._registry import sync as registry
from django_redis_pool.checks import ALL_IDS, check_cache_codecs, check_deploy, check_settings

SAFE = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5, "MAX_CONNECTIONS": 20}
LOCAL = "redis://127.0.0.1:6379/0"
REDIS_PY_MAJOR = int(redis.__version__.split(".")[0])


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_a_good_configuration_is_silent(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": LOCAL, **SAFE},
        "remote": {
            "URL": "rediss://cache.internal:6380/0",
            **SAFE,
            "OPTIONS": {"username": "app", "password": "pw"},
        },
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


@pytest.mark.parametrize(
    ("config", "pool_timeout"),
    [
        ({"URL": LOCAL}, 5.0),  # the package's default, not redis-py's 20 s
        ({"URL": f"{LOCAL}?timeout=2"}, 2.0),
        ({"URL": LOCAL, "POOL_TIMEOUT": 0.5}, 0.5),
        ({"URL": LOCAL, "BLOCKING": False}, None),  # raises at once when full: nothing to wait for
    ],
)
def test_w003_is_silent_for_every_effective_pool_timeout(
    settings: Any, config: dict[str, Any], pool_timeout: float | None
) -> None:
    limits = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "MAX_CONNECTIONS": 20}
    settings.REDIS_POOL = {"default": {**config, **limits}}
    assert registry.get_entry("default").limits.pool_timeout == pool_timeout
    assert ids(check_settings()) == []


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
            "REDIS_POOL['default'] is a blocking pool with 'POOL_TIMEOUT': None: when every connection is "
            "busy, a caller waits forever for one to be released.",
            hint="Set 'POOL_TIMEOUT' in REDIS_POOL['default'] to the seconds a request can wait, e.g. 5, "
            "or remove it for the default of 5.",
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
        ("redis://:pw@cache.internal:6379/0", ["django_redis_pool.W005", "django_redis_pool.W008"]),
        ("redis://10.0.0.5:6379/0", ["django_redis_pool.W005", "django_redis_pool.W006"]),
        ("rediss://cache.internal:6380/0", ["django_redis_pool.W006"]),
        ("rediss://app:pw@cache.internal:6380/0", ["django_redis_pool.W008"]),
        ("redis://:pw@127.0.0.1:6379/0", ["django_redis_pool.W008"]),
        ("redis://127.0.0.1:6379/0?password=pw", ["django_redis_pool.W008"]),
        ("unix://:pw@/run/redis.sock", ["django_redis_pool.W008"]),
        ("rediss://app@cache.internal:6380/0", []),  # a user name alone is no secret
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


def test_w006_hint_points_to_options_not_the_url(settings: Any) -> None:
    settings.REDIS_POOL = {"cache": {"URL": "rediss://cache.internal:6380/0", **SAFE}}
    assert check_deploy() == [
        Warning(
            "REDIS_POOL['cache'] connects to cache.internal with no password or ACL user.",
            hint="Set REDIS_POOL['cache']['OPTIONS'] = {'username': ..., 'password': ...} and require them "
            "on the server (not in the URL: see django_redis_pool.W008).",
            id="django_redis_pool.W006",
        )
    ]


def test_w008_full_message(settings: Any) -> None:
    settings.REDIS_POOL = {"cache": {"URL": "rediss://app:hunter2@cache.internal:6380/0", **SAFE}}
    assert check_deploy() == [
        Warning(
            "REDIS_POOL['cache']['URL'] contains a password: Django's debug page and error e-mails show "
            "settings in full unless a key's name looks secret, and 'URL' does not.",
            hint="Move it to REDIS_POOL['cache']['OPTIONS'] = {'password': ...} (and the user to "
            "'username'), which Django hides because the key contains PASS; keep the URL without "
            "userinfo, e.g. rediss://host:6380/0.",
            id="django_redis_pool.W008",
        )
    ]


def test_w008_hint_is_what_django_error_reports_hide(settings: Any) -> None:
    """The reason for W008, asserted on Django itself: the URL shows, OPTIONS['password'] does not."""
    settings.REDIS_POOL = {
        "in_url": {"URL": "rediss://app:hunter2@cache.internal:6380/0", **SAFE},
        "in_options": {
            "URL": "rediss://cache.internal:6380/0",
            **SAFE,
            "OPTIONS": {"username": "app", "password": "hunter2"},
        },
    }
    shown = SafeExceptionReporterFilter().get_safe_settings()["REDIS_POOL"]
    assert shown["in_url"]["URL"] == "rediss://app:hunter2@cache.internal:6380/0"
    assert shown["in_options"]["OPTIONS"] == {"username": "app", "password": "********************"}
    assert ids(check_deploy()) == ["django_redis_pool.W008"]


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("redis://:pw@h/0", True),
        ("redis://h/0?password=pw", True),
        ("redis://app:@h/0", False),  # an empty password is none
        ("redis://h/0?password=", False),
        ("redis://[::1/0", False),  # unparseable: conf refuses it before any check runs
    ],
)
def test_password_in_url(url: str, found: bool) -> None:
    assert checks_module._password_in_url(url) is found


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


@pytest.mark.parametrize("missing", [False, True])
def test_w009_no_aliases(settings: Any, request: pytest.FixtureRequest, missing: bool) -> None:
    if missing:
        request.getfixturevalue("without_redis_pool_setting")
    else:
        settings.REDIS_POOL = {}
    assert check_settings() == [
        Warning(
            "django_redis_pool is installed but REDIS_POOL has no aliases: get_redis() will fail.",
            hint="Add a 'default' alias, e.g. REDIS_POOL = {'default': {'URL': "
            "'redis://127.0.0.1:6379/0'}}, or remove 'django_redis_pool' from INSTALLED_APPS.",
            id="django_redis_pool.W009",
        )
    ]
    assert check_deploy() == []


def test_w009_is_registered_with_manage_py_check(settings: Any) -> None:
    settings.REDIS_POOL = {}
    with pytest.raises(SystemCheckError) as info:
        call_command("check", "--fail-level", "WARNING", stdout=StringIO(), stderr=StringIO())
    assert "(django_redis_pool.W009) django_redis_pool is installed but REDIS_POOL has no aliases" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("interval", "max_lifetime", "expected"),
    [
        (30, 10.0, ["django_redis_pool.W010"]),
        (30, 30.0, ["django_redis_pool.W010"]),  # the health check needs idle > interval
        (30, 60.0, []),
        (0, 10.0, []),  # health checks off
        (None, 10.0, []),  # not given: redis-py's default, 0
        (30, None, []),
    ],
)
def test_w010_max_lifetime_not_longer_than_health_check_interval(
    settings: Any,
    entry_fields: Callable[..., None],
    interval: int | None,
    max_lifetime: float | None,
    expected: list[str],
) -> None:
    config: dict[str, Any] = {"URL": LOCAL, **SAFE}
    if interval is not None:
        config["HEALTH_CHECK_INTERVAL"] = interval
    settings.REDIS_POOL = {"default": config}
    entry_fields("default", settings={"max_lifetime": max_lifetime})
    assert ids(check_settings()) == expected


def test_w010_reads_the_interval_given_in_the_url(settings: Any, entry_fields: Callable[..., None]) -> None:
    settings.REDIS_POOL = {"cache": {"URL": LOCAL + "?health_check_interval=60", **SAFE}}
    entry_fields("cache", settings={"max_lifetime": 45.0})
    assert check_settings() == [
        Warning(
            "REDIS_POOL['cache'] has MAX_LIFETIME 45s, not longer than HEALTH_CHECK_INTERVAL 60s: every "
            "connection is closed for age before it can have been idle for HEALTH_CHECK_INTERVAL, so its "
            "health check never runs.",
            hint="Set 'HEALTH_CHECK_INTERVAL' in REDIS_POOL['cache'] below MAX_LIFETIME (e.g. 22.5), or "
            "remove it if recycling connections by age is enough.",
            id="django_redis_pool.W010",
        )
    ]


def test_w010_from_the_setting_itself(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": LOCAL, **SAFE, "HEALTH_CHECK_INTERVAL": 30, "MAX_LIFETIME": 10}}
    assert ids(check_settings()) == ["django_redis_pool.W010"]


def test_all_ids_are_distinct_and_every_emitted_id_is_listed() -> None:
    assert len(set(ALL_IDS)) == len(ALL_IDS)
    cache_checks = Path(checks_module.__file__).parent / "_cache" / "checks.py"
    source = Path(checks_module.__file__).read_text() + cache_checks.read_text()
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


SENTINELS = [("127.0.0.1", 26379)]


def test_w011_a_replica_alias_with_nothing_to_write(settings: Any) -> None:
    replica = {"SENTINELS": SENTINELS, "SERVICE_NAME": "mymaster", "ROLE": "replica", **SAFE}
    settings.REDIS_POOL = {"reads": replica}
    assert check_settings() == [
        Warning(
            "REDIS_POOL['reads'] reads from the replicas of 'mymaster', and no alias writes to its master: "
            "replicas refuse writes, and their reads may lag behind the master's.",
            hint="Add an alias with the same 'SENTINELS' and 'SERVICE_NAME' and no 'ROLE' for writes, or "
            "remove 'ROLE': 'replica' from REDIS_POOL['reads'].",
            id="django_redis_pool.W011",
        )
    ]
    master = {k: v for k, v in replica.items() if k != "ROLE"}
    settings.REDIS_POOL = {"reads": replica, "writes": master}
    assert check_settings() == []
    settings.REDIS_POOL = {"reads": replica, "writes": {**master, "SERVICE_NAME": "other"}}
    assert ids(check_settings()) == ["django_redis_pool.W011"]


POOLED_CACHE = "django_redis_pool.cache.PooledRedisCache"


def test_e004_a_cache_serializer_path_that_does_not_import(settings: Any) -> None:
    options = {"SERIALIZER": "myproject.serializers.Fast", "COMPRESSOR": "zlib"}
    settings.CACHES = {"default": {"BACKEND": POOLED_CACHE, "LOCATION": "default", "OPTIONS": options}}
    assert check_cache_codecs() == [
        Error(
            "CACHES['default']['OPTIONS']['SERIALIZER'] is 'myproject.serializers.Fast', which does not "
            "import: No module named 'myproject'. Set it to 'pickle', 'json', 'msgpack', a django-redis "
            "serializer's dotted path, or the dotted path of your own class.",
            hint="The cache builds its serializer and compressor from these OPTIONS when first used, and "
            "would raise this error there.",
            id="django_redis_pool.E004",
        )
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"SERIALIZER": "lzma"},
        {"COMPRESSOR": "django_redis.compressors.zstd.ZStdCompresor"},
        {"serializer": "django_redis.serializers.json.JSONSerializer", "SERIALIZER": "json"},
        {"PICKLE_VERSION": "latest"},
    ],
)
def test_e004_each_codec_option_that_cannot_work(settings: Any, options: dict[str, Any]) -> None:
    settings.CACHES = {"default": {"BACKEND": POOLED_CACHE, "LOCATION": "default", "OPTIONS": options}}
    assert ids(check_cache_codecs()) == ["django_redis_pool.E004"]


def test_e004_good_codec_options_and_other_backends_are_silent(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": POOLED_CACHE,
            "LOCATION": "default",
            "OPTIONS": {"SERIALIZER": "django_redis.serializers.json.JSONSerializer", "COMPRESSOR": "zlib"},
        },
        "plain": {"BACKEND": POOLED_CACHE, "LOCATION": "default"},
        "other": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"SERIALIZER": "myproject.serializers.Fast"},
        },
    }
    assert check_cache_codecs() == []


def test_e004_is_registered_with_manage_py_check(settings: Any) -> None:
    # Django's own cache checks build every cache: the backend must leave its serializer to first use.
    options = {"serializer": "myproject.serializers.Fast"}
    settings.CACHES = {"default": {"BACKEND": POOLED_CACHE, "LOCATION": "default", "OPTIONS": options}}
    with pytest.raises(SystemCheckError) as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "django_redis_pool.E004" in str(info.value)
