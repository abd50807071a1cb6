"""PooledRedisCache as a drop-in for django-redis: the same CACHES entry under both backends.

``python benchmarks/bench_django_redis.py [--rounds 41] [--n 500] [--seconds 5] [--connections 32]
[--reps 5] [--no-gunicorn]`` starts its own redis-server and writes ``docs/benchmarks-django-redis.md``
(``--output`` elsewhere). Two parts:

1. ``get``, ``set``, ``get_many`` (10 keys) and ``delete_pattern`` (10 matching keys, put back by a
   plain redis-py client before each call, outside the timed part), for django-redis's pickle + zlib
   and msgpack + lz4 configurations: one CACHES entry, written as django-redis's README writes it
   (``LOCATION`` a URL, ``OPTIONS`` with ``CLIENT_CLASS``, ``SERIALIZER``, ``COMPRESSOR``), given to
   ``django_redis.cache.RedisCache`` and to ``PooledRedisCache``, on the same server. Paired rounds:
   in each, both backends run the operation ``n`` times, the order alternating; the ratio of each
   round is django-redis's time over ours (above 1: ours faster), and the table gives the median.
2. Server connections under ``gunicorn --workers 2 --worker-class gthread --threads 8`` (the benchsite's
   /cache/ view, driven by wrk, as ``bench_cache.py --gunicorn`` does) with that pickle + zlib entry:
   django-redis's default pool (redis-py's ConnectionPool, unbounded) against this app's pool for it.
   Requests/s moves by up to 2x between runs on a shared machine: each of ours is divided by
   django-redis's run of the same repetition (the order alternating), and the workers' CPU time per
   request is given too; the load average before and after the part is printed with it.

The backend must accept django-redis's configuration (a URL ``LOCATION``, ``SERIALIZER`` and
``COMPRESSOR`` by django-redis's dotted paths): until it does, the script says so and stops.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from common import ROOT, RedisServer, setup_django, table, timed_loop

COMBOS = {
    "pickle + zlib": {
        "SERIALIZER": "django_redis.serializers.pickle.PickleSerializer",
        "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
    },
    "msgpack + lz4": {
        "SERIALIZER": "django_redis.serializers.msgpack.MSGPackSerializer",
        "COMPRESSOR": "django_redis.compressors.lz4.Lz4Compressor",
    },
}
GUNICORN_COMBO = "pickle + zlib"
# A value the compressors compress (django-redis compresses above 15 bytes) and msgpack can carry.
VALUE = {"id": 42, "name": "x" * 64, "tags": ["a", "b", "c"], "body": "lorem ipsum dolor sit amet " * 24}
MATCHING = 10  # keys delete_pattern finds and deletes per call
CONFIG_ENV = "BENCH_DJANGO_REDIS_CONFIGS"  # read by benchsite/settings.py
OUTPUT = ROOT / "docs" / "benchmarks-django-redis.md"
NOT_YET = 2  # exit status when the backend refuses django-redis's configuration


def slug(combo: str) -> str:
    return combo.replace(" + ", "_")


def alias(backend: str, combo: str) -> str:
    """The CACHES alias benchsite/settings.py gives ``backend`` ("django_redis" or "pooled")."""
    return f"{backend}_{slug(combo)}"


def cache_configs(url: str) -> dict[str, dict[str, Any]]:
    """The django-redis CACHES entries (without BACKEND) by slug, for benchsite/settings.py."""
    return {
        slug(combo): {
            "LOCATION": url,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", **options},
        }
        for combo, options in COMBOS.items()
    }


def timed_with_setup(prepare: Callable[[], object], fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of ``fn``, ``prepare`` run before each call and not timed."""
    total = 0.0
    for _ in range(n):
        prepare()
        started = time.perf_counter()
        fn()
        total += time.perf_counter() - started
    return total / n * 1e6


def operations(cache: Any, raw: Any, prefix: str) -> dict[str, Callable[[int], float]]:
    """Each operation as ``f(n) -> µs per call``."""
    keys = [f"{prefix}:{i}" for i in range(10)]
    doomed = {cache.make_key(f"{prefix}:dp:{i}"): b"x" for i in range(MATCHING)}

    def loop(fn: Callable[[], object]) -> Callable[[int], float]:
        return lambda n: timed_loop(fn, n)

    return {
        "get": loop(lambda: cache.get(keys[0])),
        "set": loop(lambda: cache.set(keys[1], VALUE, 300)),
        "get_many (10 keys)": loop(lambda: cache.get_many(keys)),
        f"delete_pattern ({MATCHING} keys)": lambda n: timed_with_setup(
            lambda: raw.mset(doomed), lambda: cache.delete_pattern(f"{prefix}:dp:*"), n
        ),
    }


def paired(
    theirs: Callable[[int], float], ours: Callable[[int], float], rounds: int, n: int
) -> dict[str, Any]:
    """Both sides ``n`` calls per round, order alternating; per-round ratio theirs / ours."""
    theirs(n)
    ours(n)  # warm-up: connections open, code paths hot
    times: dict[str, list[float]] = {"theirs": [], "ours": []}
    for i in range(rounds):
        if i % 2:
            times["ours"].append(ours(n))
            times["theirs"].append(theirs(n))
        else:
            times["theirs"].append(theirs(n))
            times["ours"].append(ours(n))
    ratios = [t / o for t, o in zip(times["theirs"], times["ours"], strict=True)]
    return {
        "theirs": statistics.median(times["theirs"]),
        "ours": statistics.median(times["ours"]),
        "ratio": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
    }


def latency_section(url: str, rounds: int, n: int) -> str:
    """Part 1, in this process."""
    import redis
    from django.core.cache import caches

    raw = redis.Redis.from_url(url, socket_timeout=5)
    rows = []
    for combo in COMBOS:
        theirs, ours = caches[alias("django_redis", combo)], caches[alias("pooled", combo)]
        prefix = f"bench:{slug(combo)}"
        ours.set_many({f"{prefix}:{i}": VALUE for i in range(10)}, 300)
        ops_theirs, ops_ours = operations(theirs, raw, prefix), operations(ours, raw, prefix)
        for op in ops_ours:
            result = paired(ops_theirs[op], ops_ours[op], rounds, n)
            rows.append(
                [
                    combo,
                    op,
                    f"{result['theirs']:.1f}",
                    f"{result['ours']:.1f}",
                    f"{result['ratio']:.2f}x",
                    f"{result['ratio_low']:.2f}-{result['ratio_high']:.2f}",
                ]
            )
            print(f"  {combo}, {op}: django-redis / ours {result['ratio']:.2f}x", flush=True)
    raw.close()
    headers = [
        "configuration",
        "operation",
        "django-redis µs, median",
        "PooledRedisCache µs, median",
        "django-redis / ours, median of rounds",
        "range of rounds",
    ]
    return (
        f"{rounds} paired rounds of {n} calls per operation, one thread; a value of "
        f"{len(json.dumps(VALUE))} bytes as JSON. Above 1x: PooledRedisCache is faster.\n\n"
        + table(headers, rows)
    )


def gunicorn_section(url: str, admin: Any, seconds: int, connections: int, reps: int) -> str:
    """Part 2: bench_cache.py's gunicorn measurement on the two aliases of one configuration."""
    import bench_cache

    contenders = {
        "django-redis, its default pool (redis-py's ConnectionPool)": alias("django_redis", GUNICORN_COMBO),
        "PooledRedisCache, this app's pool for the same entry": alias("pooled", GUNICORN_COMBO),
    }
    return bench_cache.gunicorn_section(url, admin, seconds, connections, reps, contenders)


def versions() -> str:
    def of(package: str) -> str:
        try:
            return installed_version(package)
        except PackageNotFoundError:
            return "not installed"

    server = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    server_version = next((w[2:] for w in server if w.startswith("v=")), "?")
    names = ["Django", "redis", "hiredis", "django-redis", "msgpack", "lz4", "gunicorn"]
    listed = ", ".join(f"{name} {of(name)}" for name in names)
    return f"Python {platform.python_version()}, {listed}, redis-server {server_version}"


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = f" ({line.split(':', 1)[1].strip()})"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs{model}, {platform.system()}"


def code_version() -> str:
    """The commit measured, and whether the work tree differed from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "not a git checkout"
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def refused(error: Exception) -> int:
    print(
        "bench_django_redis: PooledRedisCache does not accept django-redis's configuration yet "
        "(a URL LOCATION, SERIALIZER and COMPRESSOR by django-redis's dotted paths), so there is "
        f"nothing to compare:\n  {type(error).__name__}: {error}",
        file=sys.stderr,
    )
    return NOT_YET


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-gunicorn", action="store_true", help="part 1 only")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    started = time.monotonic()
    with RedisServer() as server:
        os.environ[CONFIG_ENV] = json.dumps(cache_configs(server.url))  # the gunicorn workers inherit it
        from django.core.exceptions import ImproperlyConfigured

        try:
            setup_django(server.url)
            from django.core.cache import caches

            for combo in COMBOS:
                caches[alias("pooled", combo)].set("bench:probe", VALUE, 10)
        except ImproperlyConfigured as error:
            return refused(error)
        print("part 1: get, set, get_many, delete_pattern", flush=True)
        latency = latency_section(server.url, args.rounds, args.n)
        if args.no_gunicorn:
            connections = "Not measured in this run (`--no-gunicorn`)."
        elif shutil.which("wrk") is None:
            connections = "Not measured: wrk is not installed (`apt-get install wrk`)."
        else:
            print("part 2: server connections under gunicorn", flush=True)
            admin = server.admin()
            load_before = os.getloadavg()[0]
            connections = gunicorn_section(server.url, admin, args.seconds, args.connections, args.reps)
            connections += (
                f"\n\nLoad average (1 min) before this part: {load_before:.2f}; after it: "
                f"{os.getloadavg()[0]:.2f} (the part's own gunicorn, wrk and redis-server included)."
            )
            admin.close()
    command = "python benchmarks/bench_django_redis.py " + " ".join(sys.argv[1:])
    document = "\n".join(
        [
            "# PooledRedisCache as a drop-in for django-redis",
            "",
            "The same CACHES entry, written as django-redis's README writes it (`LOCATION` a URL,",
            "`OPTIONS` with `CLIENT_CLASS`, `SERIALIZER`, `COMPRESSOR`), given to",
            "`django_redis.cache.RedisCache` and to `django_redis_pool.cache.PooledRedisCache`, on one",
            "redis-server the script starts on 127.0.0.1. Generated by the script; numbers from one run.",
            "",
            f"- Command: `{command.strip()}` ({time.monotonic() - started:.0f} s)",
            f"- Date: {datetime.date.today().isoformat()}; code: {code_version()}",
            f"- Machine: {machine()}; the client, wrk, gunicorn and redis-server share them",
            f"- {versions()}",
            "",
            "## get, set, get_many, delete_pattern",
            "",
            latency,
            "",
            "## Server connections under gunicorn, 2 workers x 8 threads",
            "",
            f"The {GUNICORN_COMBO} entry, with no pool options: django-redis's defaults against this app's.",
            "",
            connections,
            "",
        ]
    )
    args.output.write_text(document)
    print(document)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
