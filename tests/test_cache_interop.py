"""Switching from django-redis without flushing: each side reads what the other wrote, on one real server.

For every serializer and compressor pair, values written by django-redis 7's own ``RedisCache`` are read
by PooledRedisCache (configured with the same LOCATION and OPTIONS) and the other way round, counters
are incremented across, and the stored bytes are the same.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django_redis.cache import RedisCache as DjangoRedisRedisCache

from django_redis_pool import get_redis
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.real_redis
POOLED = "django_redis_pool.cache.PooledRedisCache"

SERIALIZERS = {
    "pickle": "django_redis.serializers.pickle.PickleSerializer",
    "json": "django_redis.serializers.json.JSONSerializer",
    "msgpack": "django_redis.serializers.msgpack.MSGPackSerializer",
}
COMPRESSORS = {
    "identity": "django_redis.compressors.identity.IdentityCompressor",
    "zlib": "django_redis.compressors.zlib.ZlibCompressor",
    "gzip": "django_redis.compressors.gzip.GzipCompressor",
    "lzma": "django_redis.compressors.lzma.LzmaCompressor",
    "lz4": "django_redis.compressors.lz4.Lz4Compressor",
    "zstd": "django_redis.compressors.zstd.ZStdCompressor",
}
PAIRS = [(s, c) for s in SERIALIZERS for c in COMPRESSORS]

# name -> value; every serializer reads these back equal and of the same type.
VALUES: dict[str, Any] = {
    "int": 42,
    "negative": -7,
    "past_2_63": 2**63 + 1,
    "below_minus_2_80": -(2**80),
    "true": True,
    "false": False,
    "none": None,
    "zero": 0,
    "empty_str": "",
    "empty_list": [],
    "empty_dict": {},
    "float": 0.1,
    "str": "héllo wörld",
    "long_str": "compressible " * 100,
    "dict": {"a": [1, 2, {"b": "c" * 300}], "d": None},
}
BYTES = {"short_bytes": b"\x00\xff", "long_bytes": bytes(range(256)) * 4}  # JSON has no bytes


def values_for(serializer: str) -> dict[str, Any]:
    return VALUES if serializer == "json" else {**VALUES, **BYTES}


@pytest.fixture
def ours(real_redis: RedisServer, settings: Any) -> Callable[[dict[str, Any]], Any]:
    """PooledRedisCache on the same server and database, built from the OPTIONS given (a URL LOCATION:
    the pool is the cache's own, as a project switching from django-redis configures it)."""

    def build(options: dict[str, Any]) -> Any:
        settings.CACHES = {"default": {"BACKEND": POOLED, "LOCATION": real_redis.url, "OPTIONS": options}}
        return caches["default"]

    return build


@pytest.fixture
def django_redis(real_redis: RedisServer) -> Iterator[Callable[[dict[str, Any]], DjangoRedisRedisCache]]:
    """django-redis's own cache on the real server, with the OPTIONS given."""
    built: list[DjangoRedisRedisCache] = []

    def build(options: dict[str, Any]) -> DjangoRedisRedisCache:
        cache = DjangoRedisRedisCache(real_redis.url, {"OPTIONS": options})
        built.append(cache)
        return cache

    yield build
    for cache in built:
        cache.client.get_client().connection_pool.disconnect()


def raw(key: str) -> bytes:
    stored = get_redis().get(f":1:{key}")
    assert isinstance(stored, bytes)
    # gzip's header holds the time of writing (bytes 4-7): compare the rest
    return stored[:4] + stored[8:] if stored[:2] == b"\x1f\x8b" else stored


def same(left: Any, right: Any) -> bool:
    return type(left) is type(right) and left == right


@pytest.mark.parametrize(("serializer", "compressor"), PAIRS)
def test_what_django_redis_wrote_is_read_here(
    django_redis: Callable[[dict[str, Any]], DjangoRedisRedisCache],
    ours: Callable[[dict[str, Any]], Any],
    serializer: str,
    compressor: str,
) -> None:
    options = {"SERIALIZER": SERIALIZERS[serializer], "COMPRESSOR": COMPRESSORS[compressor]}
    theirs, mine = django_redis(options), ours(options)
    for name, value in values_for(serializer).items():
        theirs.set(name, value, timeout=None)
        assert same(mine.get(name), value), name


@pytest.mark.parametrize(("serializer", "compressor"), PAIRS)
def test_what_is_written_here_django_redis_reads(
    django_redis: Callable[[dict[str, Any]], DjangoRedisRedisCache],
    ours: Callable[[dict[str, Any]], Any],
    serializer: str,
    compressor: str,
) -> None:
    options = {"SERIALIZER": SERIALIZERS[serializer], "COMPRESSOR": COMPRESSORS[compressor]}
    theirs, mine = django_redis(options), ours(options)
    for name, value in values_for(serializer).items():
        mine.set(name, value)
        assert same(theirs.get(name), value), name
        written_here = raw(name)
        theirs.set(name, value, timeout=None)
        assert raw(name) == written_here, name  # the same bytes as django-redis writes


@pytest.mark.parametrize(("serializer", "compressor"), PAIRS)
def test_counters_are_incremented_across(
    django_redis: Callable[[dict[str, Any]], DjangoRedisRedisCache],
    ours: Callable[[dict[str, Any]], Any],
    serializer: str,
    compressor: str,
) -> None:
    options = {"SERIALIZER": SERIALIZERS[serializer], "COMPRESSOR": COMPRESSORS[compressor]}
    theirs, mine = django_redis(options), ours(options)
    theirs.set("hits", 10, timeout=None)
    assert mine.incr("hits", 5) == 15
    assert theirs.incr("hits") == 16
    assert same(mine.get("hits"), 16)
    mine.set("big", 2**64)  # past what INCR takes: django-redis reads, adds and writes it back
    assert theirs.incr("big", 2) == 2**64 + 2
    assert same(mine.get("big"), 2**64 + 2)


def test_gzip_values_are_read_whatever_their_header_time(
    django_redis: Callable[[dict[str, Any]], DjangoRedisRedisCache], ours: Callable[[dict[str, Any]], Any]
) -> None:
    options = {"COMPRESSOR": COMPRESSORS["gzip"]}
    mine = ours(options)
    mine.set("value", "text " * 50)
    stored = get_redis().get(":1:value")
    rewritten = gzip.compress(gzip.decompress(stored), mtime=1)
    get_redis().set(":1:value", rewritten)
    assert django_redis(options).get("value") == mine.get("value") == "text " * 50


def test_switching_from_djangos_own_redis_cache(
    real_redis: RedisServer, ours: Callable[[dict[str, Any]], Any]
) -> None:
    """Django's RedisCache and this backend's default (django-redis's pickle) read each other's values."""
    django = DjangoRedisCache(real_redis.url, {})
    mine = ours({})
    for name, value in {**VALUES, **BYTES}.items():
        django.set(name, value, timeout=None)
        assert same(mine.get(name), value), name
        mine.set(name, value)
        assert same(django.get(name), value), name
    django.set("hits", 1, timeout=None)
    assert mine.incr("hits") == 2
    assert django.incr("hits") == 3
    django.close()


def test_herd_values_are_read_across(
    django_redis: Callable[[dict[str, Any]], DjangoRedisRedisCache],
    ours: Callable[[dict[str, Any]], Any],
    settings: Any,
) -> None:
    """HerdClient on both sides: the stored (marker, value, expiry) tuple is the same and read across."""
    options = {"CLIENT_CLASS": "django_redis.client.HerdClient"}
    settings.CACHE_HERD_TIMEOUT = 60
    theirs, mine = django_redis(options), ours(options)
    theirs.set("theirs", {"v": 1}, timeout=100)
    assert mine.get("theirs") == {"v": 1}
    mine.set("mine", [2], timeout=100)
    assert theirs.get("mine") == [2]
    written_here = get_redis().get(":1:mine")
    theirs.set("mine", [2], timeout=100)
    # The same bytes but for the expiry (an absolute time, which may have ticked by a second).
    assert len(get_redis().get(":1:mine")) == len(written_here)
    assert 159 <= get_redis().ttl(":1:mine") <= 160
