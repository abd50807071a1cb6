"""PooledRedisCache as a drop-in for django-redis: its API, sync and async, herd and Sentinel."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest
import redis
from django.core.cache import caches

from django_redis_pool import get_redis, get_redis_connection, get_stats
from django_redis_pool._registry import sync as registry
from tests.support.django_redis import django_redis_cache
from tests.support.redis_server import RedisServer, free_port
from tests.support.topologies import SentinelTopology


@pytest.fixture
def url_cache(real_redis: RedisServer, settings: Any) -> RedisServer:
    settings.CACHES = {"default": django_redis_cache(real_redis.url)}
    return real_redis


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
        None,  # aset(): None, as Django's (set() returns whether it stored, for nx/xx)
        False,
        [1],
        [],
        {"a": 1, "b": "two"},
        3,
        2,
        True,
        True,
        True,
        None,  # adelete_many(): None, as Django's and django-redis's
        None,
    ]
    assert cache.get_many(["k", "a", "b"]) == {"k": [1]}


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
    assert asyncio.run(cache.aset("a", "w", 100)) is None  # through set(), in a thread
    assert 109 <= real_redis.admin().ttl(":1:a") <= 110
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
    dead = free_port()  # nothing listens there
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


def test_incr_version_keeps_the_ttl_and_zero_timeouts(url_cache: RedisServer) -> None:
    cache = caches["default"]
    cache.set("k", "v", timeout=100)
    assert cache.incr_version("k") == 2
    assert (cache.get("k"), cache.get("k", version=2)) == (None, "v")
    assert 99 <= cache.ttl("k", version=2) <= 100
    with pytest.raises(ValueError, match="not found"):
        cache.incr_version("missing")
    assert cache.add("k", "other", timeout=0, version=2) is False  # present: not added
    assert cache.add("new", "v", timeout=0) is True  # absent: "added", and gone at once
    assert cache.set("k", "x", timeout=-1, version=2) is True  # deletes
    assert (cache.has_key("new"), cache.has_key("k", version=2)) == (False, False)
    cache.set("a", 1)
    assert cache.delete("a", prefix="") is True  # django-redis's prefix argument: this key is ":1:a"
    assert cache.clear() is True
