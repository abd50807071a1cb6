"""PooledRedisCache: Django's cache and sessions on a REDIS_POOL alias's pool, on the real server."""

from __future__ import annotations

import asyncio
import time
from io import StringIO
from typing import Any
from unittest import mock

import pytest
import redis
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import caches
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from django_redis_pool import get_pool, get_redis, get_stats
from django_redis_pool._cache.client import CacheClient
from django_redis_pool.cache import PooledRedisCache
from django_redis_pool.checks import check_caches
from tests.support.redis_server import RedisServer, free_port

BACKEND = "django_redis_pool.cache.PooledRedisCache"
SAFE = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5}


def pooled(location: str = "default", **params: Any) -> dict[str, Any]:
    return {"BACKEND": BACKEND, "LOCATION": location, **params}


@pytest.fixture
def two_caches(real_redis: RedisServer, settings: Any) -> RedisServer:
    """Two cache aliases on the one "default" pool alias, kept apart by KEY_PREFIX."""
    settings.CACHES = {"default": pooled(KEY_PREFIX="a"), "other": pooled(KEY_PREFIX="b")}
    return real_redis


def test_commands_go_through_the_alias_pool(two_caches: RedisServer) -> None:
    cache = caches["default"]
    before = get_stats("default")["checkouts"]
    cache.set("k", {"v": 1}, 30)
    cache.set_many({"x": 1, "y": "two"}, 30)
    assert cache.get("k") == {"v": 1}
    assert cache.get_many(["x", "y", "missing"]) == {"x": 1, "y": "two"}
    assert cache.incr("x", 5) == 6
    assert get_stats("default")["checkouts"] - before == 5  # incr is one EVAL (EXISTS, INCRBY)
    assert cache._cache.get_client() is get_redis("default")
    assert cache._cache._get_connection_pool(write=True) is get_pool("default")
    admin = two_caches.admin()
    assert sorted(admin.keys("*")) == ["a:1:k", "a:1:x", "a:1:y"]
    assert 0 < admin.ttl("a:1:k") <= 30
    # Only the alias's pooled connections, and no other, reached the server.
    names = [c["name"] for c in admin.client_list() if c["name"]]
    assert names
    assert all(name.startswith("django_redis_pool:default:") for name in names)


def test_cache_aliases_sharing_a_pool_alias_keep_their_keys_apart(two_caches: RedisServer) -> None:
    caches["default"].set("k", "from a")
    caches["other"].set("k", "from b")
    assert (caches["default"].get("k"), caches["other"].get("k")) == ("from a", "from b")
    assert caches["default"].delete("k") is True
    assert (caches["default"].get("k"), caches["other"].get("k")) == (None, "from b")
    assert caches["default"]._cache.get_client() is caches["other"]._cache.get_client()


def test_incr_asks_for_the_write_client(two_caches: RedisServer) -> None:
    # Django's test_incr_write_connection patches RedisCacheClient.get_client; ours is cache.client's.
    caches["default"].set("number", 42)
    with mock.patch.object(CacheClient, "get_client", return_value=get_redis()) as get_client:
        assert caches["default"].incr("number") == 43
    assert get_client.call_args.kwargs == {"write": True}


def test_async_methods_are_native_on_the_loop_pool(two_caches: RedisServer) -> None:
    cache = caches["default"]

    async def scenario() -> list[Any]:
        results: list[Any] = []
        results.append(await cache.aset("k", [1, 2], 30))
        results.append(await cache.aget("k"))
        results.append(await cache.aadd("k", "no"))
        results.append(await cache.aadd("new", "yes", 0))  # timeout 0: added, then deleted at once
        results.append(await cache.aget("new", "gone"))
        results.append(await cache.aset_many({"x": 1, "y": 2}, 30))
        results.append(await cache.aget_many(["x", "y", "z"]))
        results.append(await cache.aincr("x", 10))
        results.append(await cache.adecr("x"))
        results.append(await cache.ahas_key("y"))
        results.append(await cache.atouch("y", None))
        results.append(await cache.aget_or_set("computed", lambda: "value"))
        results.append(await cache.adelete("y"))
        results.append(await cache.adelete_many(["x", "computed"]))
        results.append(await cache.aset("zero", 1, 0))
        results.append(await cache.aget("zero"))
        return results

    sync_checkouts = get_stats("default")["checkouts"]
    results = asyncio.run(scenario())
    assert results == [
        None,  # aset() returns None, as Django's does (set() returns whether it stored: django-redis)
        [1, 2],
        False,
        True,
        "gone",
        [],
        {"x": 1, "y": 2},
        11,
        10,
        True,
        True,
        "value",
        True,
        None,  # adelete_many() returns None, as Django's and django-redis's do
        None,  # aset() with a timeout of 0 deletes the key: only k is left below
        None,
    ]
    # Nothing went through the sync pool (Django's default a* run the sync methods in a thread).
    assert get_stats("default")["checkouts"] == sync_checkouts
    assert sorted(two_caches.admin().keys("*")) == ["a:1:k"]
    assert two_caches.admin().ttl("a:1:k") > 0

    async def clear_and_check() -> tuple[bool, Any]:
        missing = cache.aincr("nothing-here")
        with pytest.raises(ValueError, match="not found"):
            await missing
        return await cache.aclear(), await cache.aget("k")

    assert asyncio.run(clear_and_check()) == (True, None)


def test_the_running_loop_pool_counts_the_async_commands(two_caches: RedisServer) -> None:
    async def use() -> tuple[int, int]:
        await caches["default"].aset("k", 1)
        await caches["default"].aget("k")
        stats = get_stats("default")["async"]
        return stats["loops"], stats["checkouts"]

    assert asyncio.run(use()) == (1, 2)


def test_an_unknown_pool_alias_names_the_cache_and_the_pool_alias(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.CACHES = {"default": pooled(), "typo": pooled("defualt", KEY_PREFIX="t")}
    with pytest.raises(ImproperlyConfigured) as info:
        caches["typo"].get("k")
    assert str(info.value) == (
        "CACHES['typo'] on REDIS_POOL['defualt'] cannot reach its pool: REDIS_POOL has no alias "
        "'defualt'; configured aliases: 'default'."
    )


def test_a_redis_error_keeps_its_type_and_gains_a_note_naming_both_aliases(settings: Any) -> None:
    dead = free_port()  # nothing listens there: connecting is refused at once
    settings.REDIS_POOL = {
        "down": {"URL": f"redis://127.0.0.1:{dead}/0", **SAFE, "OPTIONS": {"retry": None}},
    }
    settings.CACHES = {"default": pooled("down", KEY_PREFIX="p")}
    with pytest.raises(redis.ConnectionError) as info:
        caches["default"].get("k")
    assert info.value.__notes__ == ["in CACHES['default'] on REDIS_POOL['down']"]

    async def aget() -> Any:
        return await caches["default"].aget("k")

    with pytest.raises(redis.ConnectionError) as async_info:
        asyncio.run(aget())
    assert async_info.value.__notes__ == ["in CACHES['default'] on REDIS_POOL['down']"]


def test_connection_options_are_refused_when_the_cache_is_built(settings: Any) -> None:
    settings.CACHES = {"default": pooled(OPTIONS={"db": 5, "serializer": None})}
    with pytest.raises(ImproperlyConfigured) as info:
        caches["default"]
    assert str(info.value) == (
        "CACHES['default']['OPTIONS']['db'] configures a pool, and LOCATION 'default' names "
        "REDIS_POOL['default'], whose pool this cache uses: set it there (or give a URL as LOCATION)."
    )


def test_the_serializer_option_is_django_s(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {"default": pooled(OPTIONS={"serializer": "tests.test_cache.JSONSerializer"})}
    caches["default"].set("k", {"a": 1})
    assert real_redis.admin().get(":1:k") == '{"a": 1}'
    assert caches["default"].get("k") == {"a": 1}


class JSONSerializer:
    def dumps(self, obj: Any) -> bytes:
        import json

        return json.dumps(obj).encode()

    def loads(self, data: bytes) -> Any:
        import json

        return json.loads(data)


def test_a_cache_without_location_is_refused_when_built(settings: Any) -> None:
    settings.CACHES = {"x": {"BACKEND": BACKEND}}
    with pytest.raises(ImproperlyConfigured, match=r"^CACHES\['x'\] has no LOCATION: set it to a URL"):
        caches["x"]


def test_the_cache_follows_a_rebuilt_pool(real_redis: RedisServer, settings: Any) -> None:
    settings.CACHES = {"default": pooled()}
    caches["default"].set("k", 1)
    settings.REDIS_POOL = {"default": {"URL": real_redis.url.replace("/0", "/3"), **SAFE}}
    assert caches["default"].get("k") is None  # database 3 now
    caches["default"].set("k", 3)
    assert real_redis.admin().keys("*") == [":1:k"]


# --- checks E002 and E003


def test_e002_a_location_that_is_not_a_pool_alias(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", **SAFE}}
    settings.CACHES = {"default": pooled("sessions")}
    assert check_caches() == [
        Error(
            "CACHES['default'] has LOCATION 'sessions', which is neither a REDIS_POOL alias nor a URL: its "
            "PooledRedisCache has no pool.",
            hint="Set CACHES['default']['LOCATION'] to a URL such as 'redis://127.0.0.1:6379/0' or to one of "
            "the REDIS_POOL aliases: 'default'.",
            id="django_redis_pool.E002",
        )
    ]


def test_e002_no_location_and_a_cache_option_of_django_s_other_backends(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": BACKEND}, "opts": pooled(OPTIONS={"MAX_ENTRIES": 30})}
    errors = check_caches()
    assert [(e.id, e.msg.split(":")[0]) for e in errors] == [
        ("django_redis_pool.E002", "CACHES['default'] has no LOCATION"),
        ("django_redis_pool.E002", "CACHES['opts']['OPTIONS']['MAX_ENTRIES'] is refused"),
    ]


def test_e003_cluster_replica_and_decoding_aliases(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": "fakeredis://", **SAFE},
        "shards": {"CLUSTER": True, "URL": "redis://127.0.0.1:7000/0", **SAFE},
        "reads": {"SENTINELS": [("127.0.0.1", 26379)], "SERVICE_NAME": "m", "ROLE": "replica", **SAFE},
        "text": {"URL": "redis://127.0.0.1:6379/0", **SAFE, "OPTIONS": {"decode_responses": True}},
    }
    settings.CACHES = {"default": pooled(), "a": pooled("shards"), "b": pooled("reads"), "c": pooled("text")}
    errors = check_caches()
    assert [e.id for e in errors] == ["django_redis_pool.E003"] * 3
    assert [e.msg.split(", ", 1)[1].split(":")[0] for e in errors] == [
        "a Redis Cluster alias",
        "a Sentinel replica alias",
        "whose connections decode responses to str",
    ]


def test_a_good_cache_configuration_is_silent_and_other_backends_are_ignored(settings: Any) -> None:
    settings.CACHES = {
        "default": pooled(OPTIONS={"serializer": "django.core.cache.backends.redis.RedisSerializer"}),
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "broken": {"BACKEND": "no.such.Backend"},
    }
    assert check_caches() == []


def test_no_cache_check_when_redis_pool_is_invalid(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "redis://h/0", "MAX_CONNECTIONS": -1}}
    settings.CACHES = {"default": pooled("nope")}
    assert check_caches() == []  # E001 reports the setting


def test_e002_is_registered_with_manage_py_check(settings: Any) -> None:
    settings.CACHES = {"default": pooled("nope")}
    with pytest.raises(SystemCheckError) as info:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "django_redis_pool.E002" in str(info.value)


def test_a_subclass_is_checked_too(settings: Any) -> None:
    settings.CACHES = {"default": pooled("nope", BACKEND="tests.test_cache.MyCache")}
    assert [e.id for e in check_caches()] == ["django_redis_pool.E002"]


class MyCache(PooledRedisCache):
    pass


# --- sessions (SESSION_ENGINE "django.contrib.sessions.backends.cache", tests/settings.py)


@pytest.mark.slow
def test_a_session_is_created_loaded_modified_and_expires_on_the_server(real_redis: RedisServer) -> None:
    admin = real_redis.admin()
    session = SessionStore()
    session["cart"] = [1, 2]
    session.save()
    key = session.session_key
    assert key is not None
    server_key = f":1:django.contrib.sessions.cache{key}"
    assert admin.exists(server_key) == 1
    assert 0 < admin.ttl(server_key) <= 1209600  # SESSION_COOKIE_AGE

    loaded = SessionStore(session_key=key)
    assert loaded["cart"] == [1, 2]
    loaded["cart"] = [1, 2, 3]
    loaded.set_expiry(1)
    loaded.save()
    assert SessionStore(session_key=key)["cart"] == [1, 2, 3]
    assert admin.ttl(server_key) in (0, 1)

    time.sleep(1.6)
    assert admin.exists(server_key) == 0
    expired = SessionStore(session_key=key)
    assert "cart" not in expired
    assert SessionStore(session_key=key).exists(key) is False


def test_a_session_is_deleted_through_the_pool(real_redis: RedisServer) -> None:
    session = SessionStore()
    session["a"] = 1
    session.create()
    key = session.session_key
    session.delete()
    assert real_redis.admin().keys("*") == []
    assert SessionStore(session_key=key).get("a") is None


def test_async_session_methods(real_redis: RedisServer) -> None:
    async def scenario() -> Any:
        session = SessionStore()
        await session.aset("a", 1)
        await session.asave()
        loaded = SessionStore(session_key=session.session_key)
        return await loaded.aget("a")

    assert asyncio.run(scenario()) == 1


def test_sessions_through_the_example_project(real_redis: RedisServer, client: Client) -> None:
    assert [client.get("/session/").json()["visits"] for _ in range(3)] == [1, 2, 3]
    assert Client().get("/session/").json()["visits"] == 1  # another browser, another session
    assert len(real_redis.admin().keys(":1:django.contrib.sessions.cache*")) == 2


def test_key_warnings_are_django_s(settings: Any) -> None:
    import warnings

    from django.core.cache import CacheKeyWarning

    settings.CACHES = {"default": pooled()}
    cache = caches["default"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.validate_key(":1:fine-key")
        cache.validate_key(":1:has space")
        cache.validate_key("x" * 251)
    assert [(w.category, str(w.message)[:30]) for w in caught] == [
        (CacheKeyWarning, "Cache key contains characters "),
        (CacheKeyWarning, "Cache key will cause errors if"),
    ]
