"""PooledRedisCache as a drop-in for django-redis: its settings (taken or refused), pools, checks, secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redis_pool import get_redis, get_redis_connection, get_stats, metrics
from django_redis_pool._conf import settings as conf
from django_redis_pool._registry import sync as registry
from django_redis_pool.checks import check_settings
from tests.support.django_redis import BACKEND, django_redis_cache
from tests.support.redis_server import RedisServer, free_port


@pytest.fixture
def url_cache(real_redis: RedisServer, settings: Any) -> RedisServer:
    settings.CACHES = {"default": django_redis_cache(real_redis.url)}
    return real_redis


# --- settings -------------------------------------------------------------------------------------


def test_a_url_location_gets_a_pool_named_after_the_cache(url_cache: RedisServer) -> None:
    cache = caches["default"]
    assert cache.set("k", {"v": 1}) is True
    assert cache.get("k") == {"v": 1}
    assert sorted(get_stats()) == ["CACHES['default']", "default"]
    stats = get_stats("CACHES['default']")
    assert (stats["connections_created"], stats["max_connections"]) == (1, 10)
    entry = registry.get_entry("CACHES['default']")
    assert (entry.limits.socket_timeout, entry.limits.pool_timeout, entry.limits.blocking) == (5, 5, True)
    names = [c["name"] for c in url_cache.admin().client_list() if c["name"].startswith("django_redis_pool:")]
    assert [name.split(":")[1] for name in names] == ["CACHES%5B%27default%27%5D"]


def test_a_list_location_reads_from_the_replicas_and_writes_to_the_first(
    real_redis: RedisServer, settings: Any
) -> None:
    # Database 1 stands for a replica: what the cache reads must come from there.
    replica = real_redis.url.replace("/0", "/1")
    settings.CACHES = {"default": django_redis_cache([real_redis.url, replica])}
    cache = caches["default"]
    cache.set("k", "on the primary")
    assert cache.get("k") is None
    real_redis.admin().execute_command("SELECT", 1)
    get_redis("CACHES['default']['LOCATION'][1]").set(":1:k", cache.client.encode("on the replica"))
    assert cache.get("k") == "on the replica"
    assert cache.client.get_client(write=True) is get_redis("CACHES['default']")
    assert cache.client.get_client(write=False) is get_redis("CACHES['default']['LOCATION'][1]")
    assert get_redis_connection("default", write=False) is get_redis("CACHES['default']['LOCATION'][1]")
    assert get_redis_connection() is get_redis("CACHES['default']")


def test_django_redis_shorthand_and_comma_separated_locations(real_redis: RedisServer, settings: Any) -> None:
    host_port = real_redis.url.split("://")[1].split("/")[0]
    settings.CACHES = {"default": django_redis_cache(f"redis://{host_port}:2,redis://{host_port}:3")}
    aliases = {a: s.url for a, s in conf.get_settings().items() if a.startswith("CACHES")}
    assert aliases == {
        "CACHES['default']": f"redis://{host_port}/2",
        "CACHES['default']['LOCATION'][1]": f"redis://{host_port}/3",
    }


def test_a_unix_socket_location(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {"default": django_redis_cache(real_redis.unix_url)}
    caches["default"].set("k", 1)
    assert real_redis.admin().get(":1:k") == "1"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"SOCKET_TIMEOUT": 2.5}, {"socket_timeout": 2.5}),
        ({"SOCKET_CONNECT_TIMEOUT": 1}, {"socket_connect_timeout": 1}),
        ({"PASSWORD": "pw", "USERNAME": "me"}, {"password": "pw", "username": "me"}),
        (
            {"CONNECTION_POOL_KWARGS": {"max_connections": 3, "retry_on_timeout": True}},
            {"max_connections": 3},
        ),
        ({"CONNECTION_POOL_KWARGS": {"health_check_interval": 30}}, {"health_check_interval": 30}),
        ({"PARSER_CLASS": "redis._parsers.resp2._RESP2Parser"}, {"parser_class": "_RESP2Parser"}),
        ({"socket_keepalive": True}, {"socket_keepalive": True}),  # Django's lower-case redis-py keys
    ],
)
def test_each_pool_option_of_django_redis_is_taken(
    settings: Any, options: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    kwargs = dict(conf.get_settings()["CACHES['default']"].kwargs)
    if "parser_class" in kwargs:
        kwargs["parser_class"] = kwargs["parser_class"].__name__
    assert {k: kwargs[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("pool_class", "blocking"),
    [
        ("redis.connection.ConnectionPool", False),
        ("redis.ConnectionPool", False),
        ("redis.BlockingConnectionPool", True),
    ],
)
def test_connection_pool_class_chooses_the_kind_of_pool(
    settings: Any, pool_class: str, blocking: bool
) -> None:
    options = {"CONNECTION_POOL_CLASS": pool_class}
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    assert conf.get_settings()["CACHES['default']"].blocking is blocking


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"CLIENT_CLASS": "django_redis.client.ShardClient"},
            "CACHES['default']['OPTIONS']['CLIENT_CLASS'] is django-redis's ShardClient, which "
            "PooledRedisCache "
            "does not take: it spreads keys over servers by a hash ring of its own. To shard, use Redis "
            "Cluster: a REDIS_POOL alias with 'CLUSTER': True, through get_redis(alias) (a cache cannot run "
            "on it: get_many and set_many are multi-key commands, see check E003); or one cache per server.",
        ),
        (
            {"CLIENT_CLASS": "myproject.MyClient"},
            "CACHES['default']['OPTIONS']['CLIENT_CLASS'] is 'myproject.MyClient'; PooledRedisCache is "
            "itself the "
            "client. It takes django-redis's DefaultClient, HerdClient, SentinelClient (same behaviour), not "
            "other classes.",
        ),
        (
            {"CONNECTION_POOL_CLASS": "myproject.MyPool"},
            "CACHES['default']['OPTIONS']['CONNECTION_POOL_CLASS'] is 'myproject.MyPool'; "
            "PooledRedisCache takes "
            "redis.ConnectionPool, redis.connection.ConnectionPool, redis.BlockingConnectionPool, "
            "redis.connection.BlockingConnectionPool, redis.sentinel.SentinelConnectionPool here: this app's "
            "pools (bounded, counted, recycled) replace it; the Sentinel pool needs SENTINELS.",
        ),
        (
            {"CONNECTION_FACTORY": "myproject.Factory"},
            "CACHES['default']['OPTIONS']['CONNECTION_FACTORY'] is 'myproject.Factory'; PooledRedisCache "
            "takes "
            "django_redis.pool.ConnectionFactory, django_redis.pool.SentinelConnectionFactory here: the "
            "pools "
            "are this app's; Sentinel is given by SENTINELS.",
        ),
        (
            {"REDIS_CLIENT_CLASS": "myproject.MyRedis"},
            "CACHES['default']['OPTIONS']['REDIS_CLIENT_CLASS'] is 'myproject.MyRedis': the pooled client of "
            "PooledRedisCache is a redis.Redis shared by the process; a subclass of your own is not taken.",
        ),
        (
            {"REDIS_CLIENT_KWARGS": {"decode_responses": True}},
            "CACHES['default']['OPTIONS']['REDIS_CLIENT_KWARGS'] is refused: the client is shared and "
            "built on "
            "the pool, which ignores connection arguments given to it. Give them in CONNECTION_POOL_KWARGS.",
        ),
        (
            {"MAX_ENTRIES": 100},
            "CACHES['default']['OPTIONS']['MAX_ENTRIES'] is refused: Redis evicts by its own "
            "maxmemory-policy, "
            "so PooledRedisCache has no MAX_ENTRIES or CULL_FREQUENCY (Django's RedisCache ignores them).",
        ),
        (
            {"SOCKET_TIMEOUT": -1},
            "CACHES['default']['OPTIONS']['SOCKET_TIMEOUT'] must be a positive number of seconds, at most "
            "86400 (one day), or None, got -1.",
        ),
        (
            {"CONNECTION_POOL_KWARGS": {"max_connections": 0}},
            "CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS']['max_connections'] must be a positive "
            "int, "
            "got 0.",
        ),
        (
            {"PASSWORD": "s3cret", "CONNECTION_POOL_KWARGS": {"no_such_argument": 1}},
            "CACHES['default']['OPTIONS']['no_such_argument'] is refused by redis-py: "
            "Connection.__init__() got an unexpected keyword argument 'no_such_argument'",
        ),
    ],
)
def test_each_refused_option_is_named_with_its_reason_at_startup(
    settings: Any, options: dict[str, Any], message: str
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    with pytest.raises(ImproperlyConfigured) as info:
        registry.build_all(raise_errors=True)  # what ready() runs
    # redis-py 5 names Connection.__init__, later versions AbstractConnection.__init__.
    assert re.sub(r"\w*Connection\.__init__", "Connection.__init__", str(info.value)) == message
    [error] = check_settings()
    assert (error.id, error.msg) == ("django_redis_pool.E001", f"CACHES is invalid: {info.value}")


def test_an_unknown_option_gets_a_did_you_mean(settings: Any) -> None:
    options = {"IGNORE_EXCEPTION": True}
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    with pytest.raises(
        ImproperlyConfigured,
        match=r"\['IGNORE_EXCEPTION'\] is not an option of PooledRedisCache"
        r"\. Did you mean 'IGNORE_EXCEPTIONS'\?",
    ):
        conf.get_settings()


def test_a_cache_url_without_timeouts_gets_w001_naming_the_cache(settings: Any) -> None:
    settings.REDIS_POOL = {}
    settings.CACHES = {"default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0"}}
    # Effective values decide: redis-py 8 has a 5 s socket timeout by default, redis-py 5 none.
    default = registry.get_entry("CACHES['default']").limits.socket_timeout
    assert ("django_redis_pool.W001" in [m.id for m in check_settings()]) is (default is None)
    options = {"CONNECTION_POOL_KWARGS": {"socket_timeout": None}}
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    [w001] = [m for m in check_settings() if m.id == "django_redis_pool.W001"]
    assert w001.msg == (
        "CACHES['default']['OPTIONS'] has no socket timeout: a command to a stalled server can block a "
        "worker "
        "forever."
    )
    assert w001.hint == "Set 'SOCKET_TIMEOUT': 5 in CACHES['default']['OPTIONS']."


def test_a_change_of_caches_rebuilds_the_cache_pools(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {"default": django_redis_cache(real_redis.url)}
    first = get_redis("CACHES['default']")
    settings.CACHES = {"other": django_redis_cache(real_redis.url.replace("/0", "/4"))}
    assert sorted(get_stats()) == ["CACHES['other']", "default"]
    caches["other"].set("k", 1)
    assert get_redis("CACHES['other']") is not first
    real_redis.admin().execute_command("SELECT", 4)
    assert get_redis("CACHES['other']").get(":1:k") == b"1"


def test_a_password_in_options_never_shows(settings: Any) -> None:
    secret = "do-not-print-me"
    with RedisServer() as server:
        # The server's user "app" has another password.
        settings.CACHES = {"default": django_redis_cache(server.url, USERNAME="app", PASSWORD=secret)}
        with pytest.raises(redis.AuthenticationError) as info:
            caches["default"].get("k")
        assert secret not in str(info.value)
        assert info.value.__notes__ == ["in CACHES['default']"]
        out = StringIO()
        with pytest.raises(CommandError, match=r"Redis unreachable for \"CACHES\['default'\]\"") as failed:
            call_command("redis_pool_status", "--format", "json", stdout=out)
        assert secret not in str(failed.value)
        report = json.loads(out.getvalue())["pools"]["CACHES['default']"]
        assert report["server"]["reachable"] is False
        assert "WRONGPASS" in report["server"]["error"] or "invalid" in report["server"]["error"]
        assert secret not in out.getvalue()
        assert secret not in repr(conf.get_settings()["CACHES['default']"])
        assert secret not in json.dumps(get_stats(), default=str)
        assert secret not in " ".join(f"{m.msg} {m.hint}" for m in check_settings())


# --- IGNORE_EXCEPTIONS ------------------------------------------------------------------------------


@pytest.fixture
def dead_cache(settings: Any) -> Any:
    dead = free_port()  # nothing listens there
    settings.CACHES = {
        "default": django_redis_cache(
            f"redis://127.0.0.1:{dead}/0",
            IGNORE_EXCEPTIONS=True,
            PASSWORD="hidden-pw",
            SOCKET_CONNECT_TIMEOUT=0.5,
        )
    }
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.REDIS_POOL = {}
    return caches["default"]


def test_ignore_exceptions_reads_give_the_default_and_writes_are_dropped(
    dead_cache: Any, caplog: pytest.LogCaptureFixture
) -> None:
    before = dead_cache.ignored_exceptions
    with caplog.at_level(logging.ERROR, logger="django_redis_pool.cache"):
        assert dead_cache.get("k", "default") == "default"
        assert dead_cache.get_many(["a", "b"]) == {}
        assert dead_cache.set("k", 1) is None
        assert dead_cache.incr("k") is None
        assert asyncio.run(dead_cache.aget("k", "async default")) == "async default"
    assert dead_cache.ignored_exceptions - before == 5
    assert [r.getMessage() for r in caplog.records] == ["Exception ignored"] * 5
    assert all(r.exc_info and r.exc_info[0] is redis.ConnectionError for r in caplog.records)
    assert "hidden-pw" not in caplog.text


def test_without_ignore_exceptions_the_error_is_raised_naming_the_cache(settings: Any) -> None:
    dead = free_port()  # nothing listens there
    settings.CACHES = {
        "default": django_redis_cache(f"redis://127.0.0.1:{dead}/0", SOCKET_CONNECT_TIMEOUT=0.5)
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = False
    with pytest.raises(redis.ConnectionError) as info:
        caches["default"].get("k")
    assert info.value.__notes__ == ["in CACHES['default']"]


def test_the_setting_ignores_exceptions_unless_the_cache_says_otherwise(settings: Any) -> None:
    dead = free_port()  # nothing listens there
    url = f"redis://127.0.0.1:{dead}/0"
    settings.CACHES = {
        "default": django_redis_cache(url, SOCKET_CONNECT_TIMEOUT=0.5),
        "strict": django_redis_cache(url, SOCKET_CONNECT_TIMEOUT=0.5, IGNORE_EXCEPTIONS=False),
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    assert caches["default"].get("k", 3) == 3
    with pytest.raises(redis.ConnectionError):
        caches["strict"].get("k")


def test_pool_hints_name_the_key_where_django_redis_writes_it(settings: Any) -> None:
    options = {"CONNECTION_POOL_KWARGS": {"max_connections": 50_000, "timeout": None}}
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}
    }
    hints = {m.id: m.hint for m in check_settings()}
    assert hints["django_redis_pool.W004"] == (
        "Set CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS']['max_connections'] to what one process "
        "needs (its threads, e.g. 10)."
    )
    assert (
        hints["django_redis_pool.W003"]
        == "Set CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS']['timeout'] to the seconds a request "
        "can wait, e.g. 5, or remove it for the default of 5."
    )


def test_editing_the_client_options_leaves_the_setting_alone(url_cache: RedisServer, settings: Any) -> None:
    cache = caches["default"]
    cache.client._options.clear()
    assert settings.CACHES["default"]["OPTIONS"]["SOCKET_TIMEOUT"] == 5
    cache.client._options["CLOSE_CONNECTION"] = True
    cache.set("k", 1)
    cache.close()
    assert get_stats("CACHES['default']")["idle"] == 0


def test_a_cache_pool_does_not_retry_unless_asked_as_django_redis(settings: Any) -> None:
    url = "redis://127.0.0.1:6379/0"
    settings.CACHES = {
        "default": {"BACKEND": BACKEND, "LOCATION": url},
        "retrying": {
            "BACKEND": BACKEND,
            "LOCATION": url,
            "OPTIONS": {"CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 2)}},
        },
    }
    assert registry.get_entry("CACHES['default']").limits.retries == 0
    assert registry.get_entry("CACHES['retrying']").limits.retries == 2


def test_a_cache_pool_is_in_the_metrics_under_its_cache_name(url_cache: RedisServer) -> None:
    caches["default"].set("k", 1)
    registry = CollectorRegistry()
    metrics.register(registry, server=True)
    families = text_string_to_metric_families(generate_latest(registry).decode())
    samples = {(s.name, s.labels.get("alias")): s.value for family in families for s in family.samples}
    assert samples[("django_redis_pool_checkouts_total", "CACHES['default']")] == 1.0
    assert samples[("django_redis_pool_max_connections", "CACHES['default']")] == 10.0
    assert samples[("django_redis_pool_server_connections", "CACHES['default']")] == 1.0
