from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from redis._parsers import _RESP2Parser  # in every redis-py of the matrix (5.0 to 8)
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redis_pool._conf.keys import DEFAULT_POOL_TIMEOUT
from django_redis_pool._conf.settings import PoolSettings, get_settings, parse_setting
from django_redis_pool.checks import check_settings

URL = "redis://127.0.0.1:6379/0"


def error_of(setting: Any) -> str:
    with pytest.raises(ImproperlyConfigured) as info:
        parse_setting(setting)
    return str(info.value)


def test_valid_setting_keeps_only_given_keys_and_the_pool_timeout_default_as_redis_py_arguments() -> None:
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
    assert parsed["sessions"] == PoolSettings(
        alias="sessions", url="redis://127.0.0.1:6379/1", kwargs={"timeout": DEFAULT_POOL_TIMEOUT}
    )
    assert dict(parsed["sessions"].kwargs) == {"timeout": 5.0}
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
        ("fakeredis:///\u00b2", "has a database '\u00b2' that is not a number"),
        (
            "redis://h/0?password=secret#1",
            "has a '#', which redis-py drops with all that follows it: 'redis://h/0?password=***'. "
            "Percent-encode a '#' in a password as %23.",
        ),
        ("redis://h/0?protocol=2&protocol=3", "gives its query argument 'protocol' more than once"),
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


DAY = "at most 86400 (one day)"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("SOCKET_TIMEOUT", float("nan"), f"must be a positive number of seconds, {DAY}, or None, got nan."),
        ("SOCKET_TIMEOUT", float("inf"), f"must be a positive number of seconds, {DAY}, or None, got inf."),
        ("SOCKET_TIMEOUT", 1e300, f"must be a positive number of seconds, {DAY}, or None, got 1e+300."),
        (
            "SOCKET_CONNECT_TIMEOUT",
            float("nan"),
            f"must be a positive number of seconds, {DAY}, or None, got nan.",
        ),
        (
            "SOCKET_CONNECT_TIMEOUT",
            float("-inf"),
            f"must be a positive number of seconds, {DAY}, or None, got -inf.",
        ),
        (
            "SOCKET_CONNECT_TIMEOUT",
            1e300,
            f"must be a positive number of seconds, {DAY}, or None, got 1e+300.",
        ),
        ("POOL_TIMEOUT", float("inf"), f"must be a positive number of seconds, {DAY}, or None, got inf."),
        ("POOL_TIMEOUT", 10**400, f"must be a positive number of seconds, {DAY}, or None, got {10**400}."),
        ("POOL_TIMEOUT", 86_400.001, f"must be a positive number of seconds, {DAY}, or None, got 86400.001."),
        (
            "HEALTH_CHECK_INTERVAL",
            float("nan"),
            "must be a number of seconds from 0 (off) to 86400 (one day), got nan.",
        ),
        (
            "HEALTH_CHECK_INTERVAL",
            float("inf"),
            "must be a number of seconds from 0 (off) to 86400 (one day), got inf.",
        ),
        (
            "HEALTH_CHECK_INTERVAL",
            None,
            "must be a number of seconds from 0 (off) to 86400 (one day), got None.",
        ),
    ],
)
def test_durations_must_be_finite_and_at_most_a_day(key: str, value: Any, message: str) -> None:
    # Each of these used to pass and then fail on every request (ValueError, OverflowError) or turn
    # health checks off silently (NaN).
    assert error_of({"cache": {"URL": URL, key: value}}) == f"REDIS_POOL['cache'][{key!r}] {message}"


def test_a_day_is_the_longest_duration_accepted() -> None:
    keys = ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT", "POOL_TIMEOUT", "HEALTH_CHECK_INTERVAL")
    parsed = parse_setting({"d": {"URL": URL, **dict.fromkeys(keys, 86_400)}})["d"]
    assert dict(parsed.kwargs) == {
        "socket_timeout": 86_400,
        "socket_connect_timeout": 86_400,
        "health_check_interval": 86_400,
        "timeout": 86_400,
    }


@pytest.mark.parametrize("name", ["my app", "caf\u00e9", "tab\there", "nul\x00", "del\x7f", "a:b", "", 5])
def test_client_name_must_be_what_redis_accepts(name: Any) -> None:
    assert error_of({"default": {"URL": URL, "CLIENT_NAME": name}}) == (
        "REDIS_POOL['default']['CLIENT_NAME'] must be None or a non-empty string of printable ASCII "
        f"characters ('!' to '~', as Redis requires) other than ':', got {name!r}."
    )


def test_client_name_may_use_every_printable_ascii_character_but_the_separator() -> None:
    name = "".join(chr(c) for c in range(33, 127) if chr(c) != ":")
    assert parse_setting({"d": {"URL": URL, "CLIENT_NAME": name}})["d"].client_name == name


@pytest.mark.parametrize(
    ("typed", "meant"), [("url", "URL"), ("max_connections", "MAX_CONNECTIONS"), ("Url", "URL")]
)
def test_unknown_key_suggestion_ignores_case(typed: str, meant: str) -> None:
    assert error_of({"cache": {"URL": URL, typed: 1}}).startswith(
        f"REDIS_POOL['cache'] has an unknown key {typed!r}. Did you mean {meant!r}?"
    )


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_url_says_it_is_empty(url: str) -> None:
    assert error_of({"cache": {"URL": url}}) == (
        "REDIS_POOL['cache']['URL'] is empty; set it to a URL such as 'redis://127.0.0.1:6379/0'."
    )


# A value given twice is an error wherever the two come from, naming both places.
@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"URL": f"{URL}?socket_timeout=3", "SOCKET_TIMEOUT": 7},
            "REDIS_POOL['c'] gives 'socket_timeout' twice: as 'SOCKET_TIMEOUT' and in 'URL' "
            "(its query argument 'socket_timeout'). Keep one.",
        ),
        (
            {"URL": f"{URL}?max_connections=3", "MAX_CONNECTIONS": 9},
            "REDIS_POOL['c'] gives 'max_connections' twice: as 'MAX_CONNECTIONS' and in 'URL' "
            "(its query argument 'max_connections'). Keep one.",
        ),
        (
            {"URL": f"{URL}?timeout=3", "POOL_TIMEOUT": 9},
            "REDIS_POOL['c'] gives 'timeout' twice: as 'POOL_TIMEOUT' and in 'URL' "
            "(its query argument 'timeout'). Keep one.",
        ),
        (
            {"URL": URL, "OPTIONS": {"db": 5}},
            "REDIS_POOL['c'] gives 'db' twice: in 'OPTIONS' and in 'URL' (its path). Keep one.",
        ),
        (
            {"URL": "redis://h?db=1", "OPTIONS": {"db": 5}},
            "REDIS_POOL['c'] gives 'db' twice: in 'OPTIONS' and in 'URL' (its query argument 'db'). "
            "Keep one.",
        ),
        (
            {"URL": "unix:///tmp/r.sock?db=1", "OPTIONS": {"db": 5}},
            "REDIS_POOL['c'] gives 'db' twice: in 'OPTIONS' and in 'URL' (its query argument 'db'). "
            "Keep one.",
        ),
        (
            {"URL": "fakeredis:///2", "OPTIONS": {"db": 5}},
            "REDIS_POOL['c'] gives 'db' twice: in 'OPTIONS' and in 'URL' (its path). Keep one.",
        ),
        (
            {"URL": "redis://h/0?db=5"},
            "REDIS_POOL['c']['URL'] gives the database twice, as its path '/0' and as its query argument "
            "'db': 'redis://h/0?db=5'. Keep one.",
        ),
        (
            {"URL": "redis://:Pw4711@h/0", "OPTIONS": {"password": "other"}},
            "REDIS_POOL['c'] gives 'password' twice: in 'OPTIONS' and in 'URL' (its password). Keep one.",
        ),
        (
            {"URL": "redis://alice@h/0", "OPTIONS": {"username": "bob"}},
            "REDIS_POOL['c'] gives 'username' twice: in 'OPTIONS' and in 'URL' (its user name). Keep one.",
        ),
        (
            {"URL": "redis://h:6380/0", "OPTIONS": {"port": 6379}},
            "REDIS_POOL['c'] gives 'port' twice: in 'OPTIONS' and in 'URL' (its port). Keep one.",
        ),
        (
            {"URL": "unix:///tmp/r.sock", "OPTIONS": {"path": "/tmp/other.sock"}},
            "REDIS_POOL['c'] gives 'path' twice: in 'OPTIONS' and in 'URL' (its socket path). Keep one.",
        ),
        (
            {"URL": "redis://h/0?password=Pw4711", "OPTIONS": {"password": "other"}},
            "REDIS_POOL['c'] gives 'password' twice: in 'OPTIONS' and in 'URL' (its query argument "
            "'password'). Keep one.",
        ),
    ],
)
def test_a_value_given_twice_is_an_error_naming_both_places(config: dict[str, Any], message: str) -> None:
    assert error_of({"c": config}) == message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "socket_timeout=nan",
            f"sets 'socket_timeout' (like 'SOCKET_TIMEOUT') to nan; it must be a positive "
            f"number of seconds, {DAY}.",
        ),
        (
            "socket_timeout=-1",
            f"sets 'socket_timeout' (like 'SOCKET_TIMEOUT') to -1.0; it must be a positive "
            f"number of seconds, {DAY}.",
        ),
        (
            "socket_connect_timeout=1e300",
            "sets 'socket_connect_timeout' (like 'SOCKET_CONNECT_TIMEOUT') to "
            f"1e+300; it must be a positive number of seconds, {DAY}.",
        ),
        (
            "timeout=inf",
            f"sets 'timeout' (like 'POOL_TIMEOUT') to inf; it must be a positive number of seconds, {DAY}.",
        ),
        (
            "max_connections=0",
            "sets 'max_connections' (like 'MAX_CONNECTIONS') to 0; it must be a positive int.",
        ),
        (
            "health_check_interval=100000",
            "sets 'health_check_interval' (like 'HEALTH_CHECK_INTERVAL') to "
            "100000; it must be a number of seconds from 0 (off) to 86400 (one day).",
        ),
    ],
)
def test_url_query_arguments_are_validated_like_their_keys(query: str, message: str) -> None:
    assert error_of({"c": {"URL": f"{URL}?{query}"}}) == f"REDIS_POOL['c']['URL'] {message}"


def test_url_query_arguments_that_are_valid_are_left_to_redis_py() -> None:
    url = f"{URL}?socket_timeout=3&max_connections=7&timeout=2&health_check_interval=30"
    parsed = parse_setting({"c": {"URL": url}})["c"]
    assert (parsed.url, dict(parsed.kwargs)) == (url, {})


def test_url_pool_timeout_with_non_blocking_pool_is_refused() -> None:
    assert error_of({"c": {"URL": f"{URL}?timeout=3", "BLOCKING": False}}) == (
        "REDIS_POOL['c']['URL'] sets 'timeout' (POOL_TIMEOUT), which has no effect with 'BLOCKING': False. "
        "Remove one of them."
    )


def test_a_url_redis_py_cannot_parse_is_refused_at_startup() -> None:
    message = error_of({"c": {"URL": "redis://:Pw4711@h?db=abc"}})
    # redis-py 5 quotes the name with backticks, redis-py 8 with quotes.
    assert message.replace("`", "'") == (
        "REDIS_POOL['c']['URL'] is refused by redis-py: Invalid value for 'db' in connection URL. "
        "('redis://:***@h?db=abc')"
    )


@pytest.mark.parametrize("db", [-1, "1", True, 1.0])
def test_options_db_must_be_a_non_negative_int(db: Any) -> None:
    assert error_of({"c": {"URL": "redis://h", "OPTIONS": {"db": db}}}) == (
        f"REDIS_POOL['c']['OPTIONS']['db'] must be an int >= 0, got {db!r}."
    )


POOL_KEYS = ("MAX_LIFETIME", "MAX_IDLE", "LEAK_WARNING")


def test_pool_keys_default_to_none_and_are_not_passed_to_redis_py() -> None:
    parsed = parse_setting(
        {"a": {"URL": URL}, "b": {"URL": URL, "MAX_LIFETIME": 3600, "MAX_IDLE": 600.5, "LEAK_WARNING": 30}}
    )
    assert (parsed["a"].max_lifetime, parsed["a"].max_idle, parsed["a"].leak_warning) == (None, None, None)
    assert (parsed["b"].max_lifetime, parsed["b"].max_idle, parsed["b"].leak_warning) == (3600, 600.5, 30)
    assert dict(parsed["b"].kwargs) == {"timeout": DEFAULT_POOL_TIMEOUT}
    assert repr(parsed["b"]) == (
        "PoolSettings(alias='b', url='redis://127.0.0.1:6379/0', blocking=True, "
        "client_name='django_redis_pool', max_lifetime=3600, max_idle=600.5, leak_warning=30, "
        "breaker=(5, 1.0, 10.0), kwargs={'timeout': 5.0})"
    )


def test_pool_keys_accept_none() -> None:
    parsed = parse_setting({"a": {"URL": URL, **dict.fromkeys(POOL_KEYS)}})["a"]
    assert parsed == PoolSettings(alias="a", url=URL, kwargs={"timeout": DEFAULT_POOL_TIMEOUT})


@pytest.mark.parametrize("key", POOL_KEYS)
@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), 86_401, "60", True])
def test_pool_keys_must_be_positive_finite_seconds(key: str, value: Any) -> None:
    assert error_of({"a": {"URL": URL, key: value}}) == (
        f"REDIS_POOL['a'][{key!r}] must be a positive number of seconds, {DAY}, or None, got {value!r}."
    )


def test_the_settings_reference_has_a_row_for_every_key() -> None:
    from pathlib import Path

    from django_redis_pool._conf.keys import KNOWN_KEYS

    readme = (Path(__file__).parent.parent / "docs" / "settings.md").read_text()
    table = readme.split("| key | type | default | meaning |\n", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1].strip().strip("`") for line in table.splitlines()[1:]]
    assert sorted(rows) == sorted(KNOWN_KEYS)


@pytest.mark.parametrize("name", ["connection_pool", "connection_class", "queue_class"])
def test_url_query_arguments_the_app_owns_are_refused(name: str) -> None:
    assert error_of({"c": {"URL": f"{URL}?{name}=x"}}) == (
        f"REDIS_POOL['c']['URL'] must not set {name!r} (its query argument {name!r}): "
        "django_redis_pool sets it."
    )


def test_url_client_name_is_refused_with_a_pointer_to_the_key() -> None:
    assert error_of({"c": {"URL": f"{URL}?client_name=x"}}) == (
        "REDIS_POOL['c']['URL'] must not set 'client_name' (its query argument 'client_name'): "
        "django_redis_pool sets it, from 'CLIENT_NAME'."
    )


# -- Sentinel and Cluster aliases ----------------------------------------------------------------

SENTINELS = [("127.0.0.1", 26379), ("127.0.0.1", 26380)]


def test_a_sentinel_alias_parses_into_its_kind() -> None:
    parsed = parse_setting(
        {
            "ha": {
                "SENTINELS": SENTINELS,
                "SERVICE_NAME": "mymaster",
                "SENTINEL_OPTIONS": {"password": "sentinel-Secret-1"},
                "URL": "redis://:data-Secret-2@/3",
            }
        }
    )["ha"]
    assert parsed.kind == "sentinel"
    assert parsed.sentinel is not None
    assert (parsed.sentinel.sentinels, parsed.sentinel.service_name, parsed.sentinel.role) == (
        (("127.0.0.1", 26379), ("127.0.0.1", 26380)),
        "mymaster",
        "master",
    )
    assert parsed.host is None
    assert "sentinel-Secret-1" not in repr(parsed)
    assert "data-Secret-2" not in repr(parsed)


def test_a_sentinel_alias_needs_no_url() -> None:
    parsed = parse_setting({"ha": {"SENTINELS": SENTINELS, "SERVICE_NAME": "m", "ROLE": "replica"}})["ha"]
    assert parsed.sentinel is not None
    assert parsed.sentinel.is_replica


def test_a_cluster_alias_parses_into_its_kind() -> None:
    parsed = parse_setting({"shards": {"CLUSTER": True, "URL": "redis://127.0.0.1:7000/0"}})["shards"]
    assert (parsed.kind, parsed.cluster is not None, parsed.host) == ("cluster", True, "127.0.0.1")
    nodes = parse_setting({"s": {"CLUSTER": True, "STARTUP_NODES": [("10.0.0.1", 7000)]}})["s"]
    assert nodes.cluster is not None
    assert nodes.cluster.startup_nodes == (("10.0.0.1", 7000),)
    assert (nodes.url, nodes.host) == ("redis://10.0.0.1:7000/0", "10.0.0.1")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"SENTINELS": SENTINELS},
            "REDIS_POOL['a'] has 'SENTINELS' but no 'SERVICE_NAME': set it to the name the sentinels "
            "monitor, e.g. 'SERVICE_NAME': 'mymaster'.",
        ),
        (
            {"SENTINELS": [], "SERVICE_NAME": "m"},
            "REDIS_POOL['a']['SENTINELS'] must be a non-empty list of (host, port) pairs",
        ),
        (
            {"SENTINELS": [("127.0.0.1", 0)], "SERVICE_NAME": "m"},
            "REDIS_POOL['a']['SENTINELS'] must hold (host, port) pairs with a port from 1 to 65535, "
            "got ('127.0.0.1', 0).",
        ),
        (
            {"SENTINELS": "127.0.0.1:26379", "SERVICE_NAME": "m"},
            "REDIS_POOL['a']['SENTINELS'] must be a non-empty list of (host, port) pairs",
        ),
        (
            {"SENTINELS": SENTINELS, "SERVICE_NAME": "m", "ROLE": "slave"},
            "REDIS_POOL['a']['ROLE'] must be 'master' or 'replica', got 'slave'.",
        ),
        (
            {"SENTINELS": SENTINELS, "SERVICE_NAME": "m", "URL": "redis://:pw-Secret@cache:6379/0"},
            "REDIS_POOL['a']['URL'] of a Sentinel alias must not name a host ('redis://:***@cache:6379/0')",
        ),
        (
            {"SENTINELS": SENTINELS, "SERVICE_NAME": "m", "URL": "unix:///tmp/r.sock"},
            "REDIS_POOL['a']['URL'] has scheme unix:// in 'unix:///tmp/r.sock'; Sentinel and Cluster aliases "
            "take redis:// or rediss:// (TLS).",
        ),
        (
            {"SERVICE_NAME": "m", "URL": URL},
            "REDIS_POOL['a']['SERVICE_NAME'] has no effect without 'SENTINELS'",
        ),
        (
            {"ROLE": "replica", "URL": URL},
            "REDIS_POOL['a']['ROLE'] has no effect without 'SENTINELS'",
        ),
        (
            {"SENTINELS": SENTINELS, "SERVICE_NAME": "m", "CLUSTER": True},
            "REDIS_POOL['a'] sets both 'SENTINELS' and 'CLUSTER'",
        ),
        (
            {"CLUSTER": True, "URL": "redis://127.0.0.1:7000/2"},
            "REDIS_POOL['a']['URL'] selects database '2', but a Redis Cluster has only database 0: "
            "use 'redis://127.0.0.1:7000/0'.",
        ),
        ({"CLUSTER": True}, "REDIS_POOL['a'] is a Cluster alias with no node to start from"),
        ({"CLUSTER": "yes", "URL": URL}, "REDIS_POOL['a']['CLUSTER'] must be True"),
        (
            {"STARTUP_NODES": [("127.0.0.1", 7000)], "URL": URL},
            "REDIS_POOL['a']['STARTUP_NODES'] has no effect without 'CLUSTER'",
        ),
    ],
)
def test_sentinel_and_cluster_keys_are_validated(config: dict[str, Any], message: str) -> None:
    assert error_of({"a": config}).startswith(message)


# -- POOL_TIMEOUT's default --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "timeout"),
    [
        ({"URL": URL}, DEFAULT_POOL_TIMEOUT),
        ({"URL": URL, "POOL_TIMEOUT": 0.25}, 0.25),
        ({"URL": URL, "POOL_TIMEOUT": None}, None),  # written out: wait forever (check W003 warns)
    ],
)
def test_a_blocking_alias_gets_the_packages_pool_timeout_unless_it_gives_one(
    config: dict[str, Any], timeout: float | None
) -> None:
    assert DEFAULT_POOL_TIMEOUT == 5.0
    assert parse_setting({"a": config})["a"].kwargs["timeout"] == timeout


def test_a_pool_timeout_in_the_url_is_left_to_redis_py() -> None:
    parsed = parse_setting({"a": {"URL": f"{URL}?timeout=2"}})["a"]
    assert dict(parsed.kwargs) == {}


def test_a_non_blocking_alias_gets_no_pool_timeout() -> None:
    assert dict(parse_setting({"a": {"URL": URL, "BLOCKING": False}})["a"].kwargs) == {}


# -- dotted paths in OPTIONS and SENTINEL_OPTIONS ----------------------------------------------


def test_a_dotted_parser_class_is_imported() -> None:
    parsed = parse_setting({"a": {"URL": URL, "OPTIONS": {"parser_class": "redis._parsers._RESP2Parser"}}})
    assert parsed["a"].kwargs["parser_class"] is _RESP2Parser


def test_a_dotted_retry_object_is_imported() -> None:
    parsed = parse_setting({"a": {"URL": URL, "OPTIONS": {"retry": "tests.test_conf.RETRY"}}})
    assert parsed["a"].kwargs["retry"] is RETRY


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"parser_class": "redis.connection.NoSuchParser"},
            "REDIS_POOL['a']['OPTIONS']['parser_class'] is 'redis.connection.NoSuchParser', which does not "
            'import: Module "redis.connection" does not define a "NoSuchParser" attribute/class. '
            "Give the dotted path of a parser class, or a parser class itself.",
        ),
        (
            {"redis_connect_func": "no_such_module.connect"},
            "REDIS_POOL['a']['OPTIONS']['redis_connect_func'] is 'no_such_module.connect', which does not "
            "import: No module named 'no_such_module'. Give the dotted path of a function, or a function "
            "itself.",
        ),
        (
            {"retry": "redis.retry.Retry"},
            "REDIS_POOL['a']['OPTIONS']['retry'] is 'redis.retry.Retry', which names the class "
            "redis.retry.Retry, not a Retry object.",
        ),
        (
            {"retry": "redis.retry"},
            "REDIS_POOL['a']['OPTIONS']['retry'] is 'redis.retry', which names the module redis.retry, "
            "not a Retry object.",
        ),
        (
            {"credential_provider": "tests.test_conf.URL"},
            "REDIS_POOL['a']['OPTIONS']['credential_provider'] is 'tests.test_conf.URL', which names a str, "
            "not a CredentialProvider object.",
        ),
        (
            {"credential_provider": "redis"},
            "REDIS_POOL['a']['OPTIONS']['credential_provider'] is 'redis', which does not import: redis "
            "doesn't look like a module path. Give the dotted path of a CredentialProvider object, or a "
            "CredentialProvider object itself.",
        ),
    ],
)
def test_a_dotted_path_that_does_not_import_names_the_alias_and_the_key(
    options: dict[str, Any], message: str
) -> None:
    assert error_of({"a": {"URL": URL, "OPTIONS": options}}) == message


def test_a_dotted_path_in_sentinel_options_names_the_key() -> None:
    setting = {
        "s": {
            "URL": "redis:///0",
            "SENTINELS": [("127.0.0.1", 26379)],
            "SERVICE_NAME": "mymaster",
            "SENTINEL_OPTIONS": {"parser_class": "redis.connection.Nope"},
        }
    }
    assert error_of(setting).startswith(
        "REDIS_POOL['s']['SENTINEL_OPTIONS']['parser_class'] is 'redis.connection.Nope', which does not "
    )


def test_a_dotted_path_that_does_not_import_is_check_e001(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": URL, "OPTIONS": {"parser_class": "redis.connection.Nope"}}}
    assert check_settings() == [
        Error(
            "REDIS_POOL is invalid: REDIS_POOL['default']['OPTIONS']['parser_class'] is "
            "'redis.connection.Nope', which does not import: Module \"redis.connection\" does not define a "
            '"Nope" attribute/class. Give the dotted path of a parser class, or a parser class itself.',
            hint="Fix the setting; see the settings reference, docs/settings.md in django-redis-pool.",
            id="django_redis_pool.E001",
        )
    ]


RETRY = Retry(NoBackoff(), 1)
