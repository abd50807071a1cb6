"""PooledRedisCache as a drop-in for django-redis: its settings and API, sync and async, on a real server."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redis_pool import get_redis, get_redis_connection, get_stats
from django_redis_pool._conf import settings as conf
from django_redis_pool._registry import sync as registry
from django_redis_pool.checks import check_settings
from tests.support.redis_server import RedisServer
from tests.support.topologies import SentinelTopology

BACKEND = "django_redis_pool.cache.PooledRedisCache"
TIMEOUTS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5}
POOL = {"CONNECTION_POOL_KWARGS": {"max_connections": 10, "timeout": 5}}


def django_redis_cache(location: Any, **options: Any) -> dict[str, Any]:
    """A CACHES entry as django-redis's README writes it, on this backend."""
    return {
        "BACKEND": BACKEND,
        "LOCATION": location,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", **TIMEOUTS, **POOL, **options},
    }


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
    dead = RedisServer().port  # nothing listens there: the server was never started
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
    dead = RedisServer().port
    settings.CACHES = {
        "default": django_redis_cache(f"redis://127.0.0.1:{dead}/0", SOCKET_CONNECT_TIMEOUT=0.5)
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = False
    with pytest.raises(redis.ConnectionError) as info:
        caches["default"].get("k")
    assert info.value.__notes__ == ["in CACHES['default']"]


def test_the_setting_ignores_exceptions_unless_the_cache_says_otherwise(settings: Any) -> None:
    dead = RedisServer().port
    url = f"redis://127.0.0.1:{dead}/0"
    settings.CACHES = {
        "default": django_redis_cache(url, SOCKET_CONNECT_TIMEOUT=0.5),
        "strict": django_redis_cache(url, SOCKET_CONNECT_TIMEOUT=0.5, IGNORE_EXCEPTIONS=False),
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    assert caches["default"].get("k", 3) == 3
    with pytest.raises(redis.ConnectionError):
        caches["strict"].get("k")


# --- the API ---------------------------------------------------------------------------------------


def test_expiry_methods(url_cache: RedisServer) -> None:
    cache = caches["default"]
    cache.set("k", 1, timeout=100)
    assert 99 <= cache.ttl("k") <= 100
    assert 99_000 < cache.pttl("k") <= 100_000
    assert cache.persist("k") is True
    assert cache.ttl("k") is None
    assert cache.expire("k", 50) is True
    assert 49 <= cache.ttl("k") <= 50
    assert cache.pexpire("k", 20_000) is True
    assert 19 <= cache.ttl("k") <= 20
    at = datetime.datetime.now() + datetime.timedelta(seconds=30)
    assert cache.expire_at("k", at) is True
    assert 28 <= cache.ttl("k") <= 30
    assert cache.pexpire_at("k", int(time.time() * 1000) + 10_000) is True
    assert 8 <= cache.ttl("k") <= 10
    assert (cache.ttl("missing"), cache.pttl("missing"), cache.expire("missing", 5)) == (0, 0, False)
    assert cache.touch("k", None) is True
    assert cache.ttl("k") is None


def test_keys_iter_keys_and_delete_pattern_keep_to_the_prefix_and_version(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.CACHES = {
        "default": {**django_redis_cache(real_redis.url), "KEY_PREFIX": "a*"},
        "other": {**django_redis_cache(real_redis.url), "KEY_PREFIX": "b"},
    }
    cache, other = caches["default"], caches["other"]
    cache.set_many({"foo-1": 1, "foo-2": 2, "bar": 3})
    cache.set("foo-3", 3, version=2)
    other.set("foo-1", "b's")
    assert sorted(cache.keys("foo-*")) == ["foo-1", "foo-2"]
    assert sorted(cache.iter_keys("foo-*", itersize=1)) == ["foo-1", "foo-2"]
    assert cache.keys("*", version=2) == ["foo-3"]
    assert cache.delete_pattern("foo-*") == 2
    assert sorted(real_redis.admin().keys("*")) == ["a*:1:bar", "a*:2:foo-3", "b:1:foo-1"]


def test_set_nx_xx_and_delete_many(url_cache: RedisServer) -> None:
    cache = caches["default"]
    assert cache.set("k", 1, nx=True) is True
    assert cache.set("k", 2, nx=True) is False
    assert cache.set("absent", 1, xx=True) is False
    assert cache.set("k", 3, xx=True) is True
    assert cache.get("k") == 3
    assert cache.delete_many(["k", "nothing"]) is True
    assert cache.delete_many(["k"]) is False
    calls = int(url_cache.admin().info("commandstats").get("cmdstat_del", {}).get("calls", 0))
    assert cache.delete_many(key for key in []) is None  # Django's return for no keys; no bare DEL
    assert int(url_cache.admin().info("commandstats").get("cmdstat_del", {}).get("calls", 0)) == calls


def test_incr_past_64_bits_and_ignore_key_check(url_cache: RedisServer) -> None:
    cache = caches["default"]
    with pytest.raises(ValueError, match="not found"):
        cache.incr("n")
    assert cache.incr("n", 5, ignore_key_check=True) == 5
    cache.set("big", 2**63 - 1, timeout=100)
    assert cache.incr("big") == 2**63
    assert cache.incr("big", 2**64) == 2**63 + 2**64
    assert cache.decr("big", 2**64) == 2**63
    assert 99 <= cache.ttl("big") <= 100  # the TTL is kept through the fallback
    assert cache.get("big") == 2**63
    cache.set("text", "abc")
    with pytest.raises(redis.ResponseError):
        cache.incr("text")


def test_lock(url_cache: RedisServer) -> None:
    cache = caches["default"]
    lock = cache.lock("job", timeout=5)
    assert lock.acquire(blocking=False) is True
    assert cache.lock("job").acquire(blocking=False) is False
    assert url_cache.admin().exists(":1:job") == 1
    lock.release()


def test_set_hash_and_sorted_set_methods_encode_members_like_values(url_cache: RedisServer) -> None:
    cache = caches["default"]
    assert cache.sadd("s", 1, "two", (3,)) == 3
    assert cache.smembers("s") == {1, "two", (3,)}
    assert cache.sismember("s", "two") is True
    assert cache.scard("s") == 3
    assert cache.srem("s", 1) == 1
    assert cache.hset("h", "f", {"v": 1}) == 1
    assert (cache.hlen("h"), cache.hkeys("h"), cache.hexists("h", "f")) == (1, ["f"], True)
    assert cache.zadd("z", {"a": 1.0, 7: 2.0}) == 2
    assert cache.zrange("z", 0, -1, withscores=True) == [("a", 1.0), (7, 2.0)]
    assert cache.zpopmax("z") == (7, 2.0)
    assert cache.zscore("z", "a") == 1.0
    assert sorted(url_cache.admin().keys("*")) == [":1:h", ":1:s", ":1:z"]


def test_async_methods_match_the_sync_ones(url_cache: RedisServer) -> None:
    cache = caches["default"]

    async def scenario() -> list[Any]:
        return [
            await cache.aset("k", [1], 30),
            await cache.aadd("k", "no"),
            await cache.aget("k"),
            await cache.aset_many({"a": 1, "b": "two"}),
            await cache.aget_many(["a", "b", "c"]),
            await cache.aincr("a", 2),
            await cache.adecr("a"),
            await cache.ahas_key("b"),
            await cache.atouch("b", 60),
            await cache.adelete("b"),
            await cache.adelete_many(["a", "zz"]),
            await cache.adelete_many([]),
        ]

    assert asyncio.run(scenario()) == [
        True,
        False,
        [1],
        [],
        {"a": 1, "b": "two"},
        3,
        2,
        True,
        True,
        True,
        True,
        None,
    ]
    assert cache.get("k") == [1]


def test_close_disconnects_idle_connections_only_when_asked(url_cache: RedisServer, settings: Any) -> None:
    cache = caches["default"]
    cache.set("k", 1)
    cache.close()
    assert get_stats("CACHES['default']")["idle"] == 1
    settings.DJANGO_REDIS_CLOSE_CONNECTION = True
    cache.close()
    assert get_stats("CACHES['default']")["idle"] == 0
    assert cache.get("k") == 1  # reconnects


def test_get_redis_connection_refuses_other_backends(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with pytest.raises(NotImplementedError, match="not a PooledRedisCache"):
        get_redis_connection()


# --- herd and Sentinel -----------------------------------------------------------------------------


def test_herd_client_stores_values_with_their_own_expiry(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {
        "default": django_redis_cache(real_redis.url, CLIENT_CLASS="django_redis.client.HerdClient")
    }
    settings.CACHE_HERD_TIMEOUT = 10
    cache = caches["default"]
    cache.set("k", "v", timeout=100)
    assert 109 <= real_redis.admin().ttl(":1:k") <= 110
    assert cache.get("k") == "v"
    assert cache.get_many(["k"]) == {"k": "v"}
    with pytest.raises(NotImplementedError):
        cache.incr("k")


def test_sentinel_client_writes_to_the_master_and_reads_from_a_replica(
    sentinel_topology: SentinelTopology, settings: Any
) -> None:
    settings.CACHES = {
        "default": django_redis_cache(
            f"redis://{sentinel_topology.service_name}/0",
            CLIENT_CLASS="django_redis.client.SentinelClient",
            SENTINELS=sentinel_topology.sentinels,
        )
    }
    cache = caches["default"]
    master = sentinel_topology.master_port()
    assert cache.client.get_client(write=True).connection_pool.get_master_address()[1] == master
    cache.set("k", "v")
    assert sentinel_topology.admin(master).exists(":1:k") == 1
    read = cache.client.get_client(write=False)
    assert read.info("replication")["role"] == "slave"  # the reads' pool is on a replica
    assert cache.client.get_client(write=True).info("replication")["role"] == "master"
    assert sorted(get_stats()) == ["CACHES['default']", "CACHES['default']['LOCATION'][1]", "default"]


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


def test_every_set_method(url_cache: RedisServer) -> None:
    cache = caches["default"]
    cache.sadd("a", 1, 2, 3)
    cache.sadd("b", 3, 4)
    assert (cache.sdiff("a", "b"), cache.sinter("a", "b"), cache.sunion("a", "b")) == (
        {1, 2},
        {3},
        {1, 2, 3, 4},
    )
    assert (cache.sdiffstore("d", "a", "b"), cache.sinterstore("i", "a", "b")) == (2, 1)
    assert (cache.sunionstore("u", "a", "b"), cache.smembers("u")) == (4, {1, 2, 3, 4})
    assert cache.smismember("a", 1, 4) == [True, False]
    assert cache.smove("a", "b", 1) is True
    assert (cache.smembers("a"), cache.smembers("b")) == ({2, 3}, {1, 3, 4})
    assert cache.srandmember("a", 5) in ([2, 3], [3, 2])
    assert cache.srandmember("a") in (2, 3)
    assert cache.srandmember("nothing") is None
    assert cache.sscan("b") == {1, 3, 4}
    assert sorted(cache.sscan_iter("b")) == [1, 3, 4]
    cache.sadd("words", "apple", "avocado", "banana")
    # As django-redis: the pattern is encoded like a member, so it matches a member exactly.
    assert cache.sscan("words", match="apple") == {"apple"}
    assert list(cache.sscan_iter("words", match="banana")) == ["banana"]
    assert cache.spop("a", 2) == {2, 3}
    assert cache.spop("a") is None
    assert (cache.hdel("h", "f"), cache.hset("h", mapping={"f": 1, "g": [2]}), cache.hdel("h", "f")) == (
        0,
        2,
        1,
    )


def test_sscan_match_is_refused_with_compression(real_redis: RedisServer, settings: Any) -> None:
    compressor = "django_redis.compressors.zlib.ZlibCompressor"
    settings.CACHES = {"default": django_redis_cache(real_redis.url, COMPRESSOR=compressor)}
    with pytest.raises(ValueError, match=r"^Using match with compression is not supported\.$"):
        caches["default"].sscan("s", match="*")


def test_every_sorted_set_method(url_cache: RedisServer) -> None:
    cache = caches["default"]
    assert cache.zadd("z", {"a": 1, "b": 2, "c": 3, 4: 4}) == 4
    assert (cache.zcard("z"), cache.zcount("z", 2, 3)) == (4, 2)
    assert cache.zincrby("z", 10, "a") == 11.0
    assert cache.zrange("z", 0, 1) == ["b", "c"]
    assert cache.zrange("z", 0, 0, desc=True, withscores=True) == [("a", 11.0)]
    assert cache.zrangebyscore("z", 2, 4) == ["b", "c", 4]
    assert cache.zrangebyscore("z", 2, 4, withscores=True, start=1, num=1) == [("c", 3.0)]
    assert cache.zrevrange("z", 0, 1) == ["a", 4]
    assert cache.zrevrange("z", 0, 0, withscores=True) == [("a", 11.0)]
    assert cache.zrevrangebyscore("z", 4, 2) == [4, "c", "b"]
    assert cache.zrevrangebyscore("z", 4, 2, withscores=True, start=0, num=1) == [(4, 4.0)]
    assert (cache.zrank("z", "b"), cache.zrank("z", "missing")) == (0, None)
    assert cache.zrem("z", "b", "nothing") == 1
    assert cache.zremrangebyscore("z", 0, 3) == 1
    assert cache.zpopmin("z", 1) == [(4, 4.0)]
    assert cache.zpopmin("z") == ("a", 11.0)
    assert (cache.zpopmax("z"), cache.zpopmax("z", 2)) == (None, [])


def test_herd_refreshes_a_stale_value_and_touch_rewrites_it(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {
        "default": django_redis_cache(real_redis.url, CLIENT_CLASS="django_redis.client.HerdClient")
    }
    settings.CACHE_HERD_TIMEOUT = 1
    cache = caches["default"]
    client = cache.client
    stale = client._pack("old", 10)
    stale = (stale[0], "old", int(time.time()) - 5)  # expired 5 s ago, past the 1 s herd window
    get_redis("CACHES['default']").set(":1:k", client.encode(stale))
    assert cache.get("k", "miss") == "miss"
    assert cache.get_many(["k"]) == {"k": None}
    assert client._unpack("plain") == ("plain", False)
    cache.set_many({"x": 1, "y": 2}, timeout=30)
    assert 30 <= real_redis.admin().ttl(":1:x") <= 31
    cache.set_many({"z": 3}, timeout=30, herd=False)
    assert cache.get("z") == 3
    assert real_redis.admin().get(":1:z") == "3"
    assert cache.touch("x", 100) is True
    assert 100 <= real_redis.admin().ttl(":1:x") <= 101
    assert cache.touch("missing") is False
    assert cache.set("forever", "v", timeout=None) is True
    assert real_redis.admin().ttl(":1:forever") == -1
    assert asyncio.run(cache.aget("x")) == 1


def test_async_incr_past_64_bits_and_errors(url_cache: RedisServer) -> None:
    cache = caches["default"]

    async def scenario() -> list[Any]:
        await cache.aset("big", 2**63 - 1, 100)
        results = [
            await cache.aincr("big"),
            await cache.aset_many({"gone": 1}, 0),
            await cache.ahas_key("gone"),
        ]
        await cache.aset("text", "abc")
        with pytest.raises(redis.ResponseError):
            await cache.aincr("text")
        with pytest.raises(ValueError, match="not found"):
            await cache.aincr("nothing")
        results.append(await cache.atouch("big", None))
        return results

    assert asyncio.run(scenario()) == [2**63, [], False, True]
    assert cache.ttl("big") is None
    assert cache.get("big") == 2**63


def test_replica_read_only_false_writes_to_another_server_when_the_first_is_down(
    real_redis: RedisServer, settings: Any
) -> None:
    dead = RedisServer().port
    location = [f"redis://127.0.0.1:{dead}/0", real_redis.url]
    settings.CACHES = {
        "default": django_redis_cache(location, REPLICA_READ_ONLY=False, SOCKET_CONNECT_TIMEOUT=0.5),
        "strict": {**django_redis_cache(location, SOCKET_CONNECT_TIMEOUT=0.5), "KEY_PREFIX": "s"},
    }
    assert caches["default"].set("k", 1) is True
    assert real_redis.admin().get(":1:k") == "1"
    with pytest.raises(redis.ConnectionError):
        caches["strict"].set("k", 1)


def test_djangos_client_view_answers_from_the_cache_pools(url_cache: RedisServer) -> None:
    view = caches["default"]._cache
    assert (view._serializer.dumps(5), view._serializer.loads(view._serializer.dumps("x"))) == (5, "x")
    assert view._get_connection_pool(write=False) is registry.get_pool("CACHES['default']")


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
