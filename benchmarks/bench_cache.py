"""PooledRedisCache vs Django's RedisCache vs django-redis's RedisCache: get, set, get_many.

``python benchmarks/bench_cache.py [--rounds 41] [--n 500]`` starts its own redis-server, points the
three backends at it (pickle serializer for all, each with its own default parser: hiredis when
installed) and runs paired rounds: in every round each backend runs the operation ``n`` times,
in rotating order, so a change of CPU placement hits all three alike. Prints a markdown table of
median microseconds per call and the median per-round ratio peer time / ours (above 1: ours faster).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

from common import RedisServer, setup_django, timed_loop

KEYS = [f"bench:cache:{i}" for i in range(10)]
VALUE = {"id": 42, "name": "x" * 64, "tags": ["a", "b", "c"]}


def rounds_of(variants: dict[str, Callable[[], object]], rounds: int, n: int) -> dict[str, list[float]]:
    """Microseconds per call of each variant in each round, order rotated every round."""
    names = list(variants)
    for fn in variants.values():
        timed_loop(fn, n)  # warm-up: connections open, code paths hot
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            times[name].append(timed_loop(variants[name], n))
    return times


def operations(cache: Any) -> dict[str, Callable[[], object]]:
    return {
        "get": lambda: cache.get(KEYS[0]),
        "set": lambda: cache.set(KEYS[1], VALUE, 300),
        "get_many (10 keys)": lambda: cache.get_many(KEYS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    with RedisServer() as server:
        setup_django(server.url)
        import django
        import redis
        from django.core.cache import caches

        contenders = {
            "PooledRedisCache": caches["pooled"],
            "Django RedisCache": caches["builtin"],
            "django-redis": caches["django_redis"],
        }
        for cache in contenders.values():
            cache.set_many(dict.fromkeys(KEYS, VALUE), 300)
        ops = {name: operations(cache) for name, cache in contenders.items()}
        print(
            f"Django {django.get_version()}, redis-py {redis.__version__}, {args.rounds} rounds x "
            f"{args.n} calls, one redis-server on 127.0.0.1\n"
        )
        print(
            "| operation | PooledRedisCache µs | Django RedisCache µs | django-redis µs "
            "| Django / ours | django-redis / ours |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for op in ops["PooledRedisCache"]:
            times = rounds_of({name: ops[name][op] for name in contenders}, args.rounds, args.n)
            ours = times["PooledRedisCache"]
            ratios = {
                peer: statistics.median(t / o for t, o in zip(times[peer], ours, strict=True))
                for peer in ("Django RedisCache", "django-redis")
            }
            medians = [statistics.median(times[name]) for name in contenders]
            print(
                f"| {op} | " + " | ".join(f"{m:.1f}" for m in medians) + " | "
                f"{ratios['Django RedisCache']:.2f}x | {ratios['django-redis']:.2f}x |"
            )
        admin = server.admin()
        clients = [c for c in admin.client_list() if c.get("cmd") != "client|list"]
        print(f"\nserver connections after the run (one thread): {len(clients)} in all")


if __name__ == "__main__":
    main()
