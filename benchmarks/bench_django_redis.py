"""PooledRedisCache vs django-redis with the same CACHES entry: get, set, get_many, delete_pattern.

``python benchmarks/bench_django_redis.py [--rounds 21] [--n 300]`` starts its own redis-server and
configures, for each codec (pickle+zlib, msgpack+lz4), two caches with the same ``LOCATION`` URL and
``OPTIONS`` (django-redis's keys), one on each backend, on different databases. Paired rounds, order
rotated each round; prints median microseconds per call and the median per-round ratio
django-redis / ours (above 1: ours faster).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.redis_server import RedisServer

CODECS = {
    "pickle+zlib": {
        "SERIALIZER": "django_redis.serializers.pickle.PickleSerializer",
        "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
    },
    "msgpack+lz4": {
        "SERIALIZER": "django_redis.serializers.msgpack.MSGPackSerializer",
        "COMPRESSOR": "django_redis.compressors.lz4.Lz4Compressor",
    },
}
BACKENDS = {
    "ours": "django_redis_pool.cache.PooledRedisCache",
    "django-redis": "django_redis.cache.RedisCache",
}
KEYS = [f"k{i}" for i in range(10)]
VALUE = {"id": 42, "name": "x" * 64, "tags": ["a", "b", "c"], "text": "compressible " * 10}


def caches_setting(url: str) -> dict[str, Any]:
    caches: dict[str, Any] = {}
    for db, (codec, backend) in enumerate((c, b) for c in CODECS for b in BACKENDS):
        options = {**CODECS[codec], "SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5}
        options["CONNECTION_POOL_KWARGS"] = {"max_connections": 10}
        caches[f"{codec} {backend}"] = {
            "BACKEND": BACKENDS[backend],
            "LOCATION": url.rsplit("/", 1)[0] + f"/{db}",
            "OPTIONS": options,
        }
    return caches


def timed(fn: Callable[[], object], n: int) -> float:
    import time

    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def operations(cache: Any) -> dict[str, Callable[[], object]]:
    def delete_pattern() -> object:
        cache.set_many(dict.fromkeys((f"p:{i}" for i in range(10)), 1), 300)
        return cache.delete_pattern("p:*")

    return {
        "get": lambda: cache.get(KEYS[0]),
        "set": lambda: cache.set(KEYS[1], VALUE, 300),
        "get_many (10 keys)": lambda: cache.get_many(KEYS),
        "set_many + delete_pattern (10 keys)": delete_pattern,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with RedisServer() as server:
        import django
        from django.conf import settings

        settings.configure(
            INSTALLED_APPS=["django_redis_pool"], CACHES=caches_setting(server.url), REDIS_POOL={}
        )
        django.setup()
        from django.core.cache import caches

        print("| codec | operation | ours µs | django-redis µs | django-redis / ours |")
        print("| --- | --- | ---: | ---: | ---: |")
        for codec in CODECS:
            pair = {backend: caches[f"{codec} {backend}"] for backend in BACKENDS}
            for cache in pair.values():
                cache.set_many(dict.fromkeys(KEYS, VALUE), 300)
            ops = {backend: operations(cache) for backend, cache in pair.items()}
            for op in ops["ours"]:
                times: dict[str, list[float]] = {backend: [] for backend in BACKENDS}
                for backend in BACKENDS:
                    timed(ops[backend][op], args.n // 5)  # warm-up
                for i in range(args.rounds):
                    order = list(BACKENDS)[i % 2 :] + list(BACKENDS)[: i % 2]
                    for backend in order:
                        times[backend].append(timed(ops[backend][op], args.n))
                ratio = statistics.median(
                    t / o for t, o in zip(times["django-redis"], times["ours"], strict=True)
                )
                medians = [statistics.median(times[b]) for b in BACKENDS]
                print(f"| {codec} | {op} | {medians[0]:.1f} | {medians[1]:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
