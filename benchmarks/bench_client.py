"""In-process sections: cost of a client, single-thread GET, parsers, threads, growth."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path
from typing import Any

import redis
from common import (
    KEY,
    VALUE,
    interleaved,
    median,
    paired_ratios,
    percentile,
    server_counter,
    table,
    time_wait_sockets,
)

OURS = "this app's pool"
PLAIN = "redis-py BlockingConnectionPool"


def parser_classes() -> dict[str, Any]:
    from redis._parsers import _HiredisParser, _RESP2Parser, _RESP3Parser  # redis-py >= 5

    found = {"RESP2 pure Python": (_RESP2Parser, 2), "RESP3 pure Python": (_RESP3Parser, 3)}
    try:
        import hiredis  # noqa: F401

        found["RESP2 hiredis"] = (_HiredisParser, 2)
        found["RESP3 hiredis"] = (_HiredisParser, 3)
    except ImportError:
        pass
    return found


def client_cost(url: str) -> tuple[str, dict[str, float]]:
    """Section 1: ns to obtain a client."""
    from django_redis_pool import get_pool, get_redis

    pool = get_pool()
    module_client = redis.Redis(connection_pool=pool)

    def tutorial_helper() -> redis.Redis:
        return redis.Redis(connection_pool=pool)

    def module_level() -> redis.Redis:
        return module_client

    results = {}
    for name, fn, number in [
        ("get_redis()", get_redis, 200_000),
        ("module-level client", module_level, 200_000),
        ("redis.Redis(connection_pool=pool) per call", tutorial_helper, 2_000),
    ]:
        runs = timeit.repeat(fn, number=number, repeat=5)
        results[name] = median(runs) / number * 1e9
    base = results["get_redis()"]
    rows = [[name, f"{ns:,.0f}", f"{ns / base:,.1f}x"] for name, ns in results.items()]
    return table(["way to get a client", "ns per call (median of 5)", "vs get_redis()"], rows), results


def instruction_counts(url: str, n: int = 2000) -> tuple[str, dict[str, float]]:
    """Instructions per GET under callgrind: deterministic, unlike wall time on a shared VM."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (`apt-get install valgrind`): section skipped.", {}
    script = Path(__file__).with_name("instructions.py")
    contenders = ("ours", "ours-client", "plain", "plain-nonblocking")
    totals: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in contenders:
            for count in (0, n):
                out = Path(tmp) / f"{which}.{count}"
                subprocess.run(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        f"--callgrind-out-file={out}",
                        sys.executable,
                        str(script),
                        url,
                        which,
                        str(count),
                    ],
                    capture_output=True,
                    check=True,
                    timeout=300,
                )
                match = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
                totals[(which, count)] = int(match.group(1)) if match else 0
    per_get = {which: (totals[(which, n)] - totals[(which, 0)]) / n for which in contenders}
    names = {
        "ours": "get_redis().get()",
        "ours-client": "client = get_redis() once, then client.get()",
        "plain": "module-level redis.Redis on an identical redis-py BlockingConnectionPool",
        "plain-nonblocking": "module-level redis.Redis on redis-py's non-blocking ConnectionPool",
    }
    rows = [
        [
            names[k],
            f"{v:,.0f}",
            f"{v / per_get['plain']:.4f}",
            f"{v / per_get['plain-nonblocking']:.4f}",
        ]
        for k, v in per_get.items()
    ]
    headers = [
        "contender",
        "instructions per GET",
        "vs plain client, BlockingConnectionPool",
        "vs plain client, ConnectionPool",
    ]
    return table(headers, rows), per_get


def checkout_cost(url: str) -> tuple[str, dict[str, float]]:
    """The pool's own overhead, no network: get_connection + release, ours vs redis-py's."""
    from django_redis_pool._pool.thread_driver import BlockingPool

    ours = BlockingPool.from_url(url, alias="bench", safe_url=url, max_connections=50, timeout=20)
    plain = redis.BlockingConnectionPool.from_url(url, max_connections=50, timeout=20)
    needs_name = tuple(int(p) for p in redis.__version__.split(".")[:2]) < (5, 3)

    def cycle(pool: Any) -> Any:
        def run() -> None:
            connection = pool.get_connection("GET") if needs_name else pool.get_connection()
            pool.release(connection)

        return run

    res = interleaved({OURS: (cycle(ours), 50_000), PLAIN: (cycle(plain), 50_000)})
    ours.disconnect()
    plain.disconnect()
    m = {k: median(v) * 1000 for k, v in res.items()}
    rows = [[k, f"{v:,.0f}"] for k, v in m.items()]
    extra = m[OURS] - m[PLAIN]
    rows.append(["difference (this app - redis-py)", f"{extra:+,.0f}"])
    return table(["pool", "ns per checkout + release (median of 5)"], rows), m


def single_thread(url: str, reps: int = 5, n: int = 10_000) -> tuple[str, dict[str, float]]:
    """Section 2: one GET per call, interleaved."""
    from django.core.cache import caches
    from django_redis import get_redis_connection

    from django_redis_pool import get_redis

    plain = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(url, max_connections=50, timeout=20)
    )
    plain.set(KEY, VALUE)
    caches["django_redis"].set(KEY, VALUE, timeout=None)
    caches["builtin"].set(KEY, VALUE, timeout=None)
    builtin, djr = caches["builtin"], caches["django_redis"]

    def new_connection() -> None:
        client = redis.Redis.from_url(url, socket_timeout=5)
        client.get(KEY)
        client.close()

    variants = {
        "get_redis().get()": (lambda: get_redis().get(KEY), n),
        "module-level redis.Redis, identical pool": (lambda: plain.get(KEY), n),
        "django-redis get_redis_connection().get()": (
            lambda: get_redis_connection("django_redis").get(KEY),
            n,
        ),
        "django-redis cache.get()": (lambda: djr.get(KEY), n),
        "Django RedisCache cache.get()": (lambda: builtin.get(KEY), n),
        "new connection per call": (new_connection, max(200, n // 20)),
    }
    res = interleaved(variants, reps=reps)
    med = {k: median(v) for k, v in res.items()}
    base = med["get_redis().get()"]
    rows = [
        [
            k,
            f"{med[k]:.1f}",
            f"{min(res[k]):.1f}-{max(res[k]):.1f}",
            f"{med[k] / base:.3f}",
            f"{base and 1e6 / med[k]:,.0f}",
        ]
        for k in variants
    ]
    return (
        table(["contender", "µs per GET (median)", "range of 5", "time vs get_redis()", "GET/s"], rows),
        med,
    )


def paired_hot_path(url: str, rounds: int = 41, n: int = 500) -> tuple[str, dict[str, float]]:
    """get_redis().get() against each peer, in paired rounds: the ratio figures of section 2."""
    from django.core.cache import caches
    from django_redis import get_redis_connection

    from django_redis_pool import get_redis

    plain = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(url, max_connections=50, timeout=20)
    )
    plain_nonblocking = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, max_connections=50))
    builtin = caches["builtin"]
    ours = lambda: get_redis().get(KEY)  # noqa: E731
    peers = {
        "plain module-level client, identical BlockingConnectionPool": lambda: plain.get(KEY),
        "plain module-level client, non-blocking ConnectionPool": lambda: plain_nonblocking.get(KEY),
        "django-redis get_redis_connection().get()": lambda: get_redis_connection("django_redis").get(KEY),
        "Django RedisCache cache.get()": lambda: builtin.get(KEY),
    }
    rows, result = [], {}
    for name, peer in peers.items():
        ratios = paired_ratios(ours, peer, rounds=rounds, n=n)
        q1, q3 = percentile(ratios, 25), percentile(ratios, 75)
        result[name] = median(ratios)
        rows.append([name, f"{median(ratios):.3f}", f"{q1:.3f}-{q3:.3f}", f"{1 / median(ratios):.2f}x"])
    headers = [
        "peer",
        "time of get_redis().get() / time of peer (median)",
        "interquartile range",
        "peer slower by",
    ]
    return table(headers, rows), result


def parsers(url: str, reps: int = 5, n: int = 10_000) -> tuple[str, dict[str, float]]:
    """Parser and protocol: same GET on pools that differ only in parser_class and protocol."""
    from django_redis_pool._pool.thread_driver import BlockingPool

    variants = {}
    pools = []
    for name, (parser_class, protocol) in parser_classes().items():
        pool = BlockingPool.from_url(
            url,
            alias=name,
            safe_url=url,
            parser_class=parser_class,
            protocol=protocol,
            max_connections=4,
            timeout=20,
        )
        pools.append(pool)
        client = redis.Redis(connection_pool=pool)
        variants[name] = ((lambda c=client: c.get(KEY)), n)
    res = interleaved(variants, reps=reps)
    for pool in pools:
        pool.disconnect()
    med = {k: median(v) for k, v in res.items()}
    base = med.get("RESP3 hiredis") or med["RESP3 pure Python"]
    rows = [[k, f"{v:.1f}", f"{v / base:.2f}"] for k, v in med.items()]
    return table(["parser, protocol", "µs per GET (median of 5)", "vs redis-py 8 default"], rows), med


def _thread_run(client_for: Any, threads: int, ops_per_thread: int) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        client = client_for()
        out = latencies[i]
        barrier.wait()
        perf = time.perf_counter
        for _ in range(ops_per_thread):
            t = perf()
            client.get(KEY)
            out.append(perf() - t)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    for w in workers:
        w.join(timeout=300)
    elapsed = time.perf_counter() - started
    return elapsed, [x for part in latencies for x in part]


def threads_section(url: str, admin: redis.Redis, total_ops: int = 16_000) -> tuple[str, dict[str, Any]]:
    """Section 3: 8 and 32 threads on MAX_CONNECTIONS 8."""
    from django_redis_pool._pool.thread_driver import BlockingPool

    rows, raw = [], {}
    for threads in (8, 32):
        for name in (
            "this app (blocking, 8)",
            "redis-py BlockingConnectionPool(8)",
            "redis-py ConnectionPool (unbounded)",
        ):
            if name.startswith("this app"):
                pool: Any = BlockingPool.from_url(url, alias="t", safe_url=url, max_connections=8, timeout=20)
            elif name.startswith("redis-py Blocking"):
                pool = redis.BlockingConnectionPool.from_url(url, max_connections=8, timeout=20)
            else:
                pool = redis.ConnectionPool.from_url(url, max_connections=2**31)
            client = redis.Redis(connection_pool=pool)
            before = server_counter(admin)
            elapsed, lat = _thread_run(lambda c=client: c, threads, total_ops // threads)
            opened = server_counter(admin) - before  # the admin connection is already open
            stats = pool.stats() if hasattr(pool, "stats") else None
            pool.disconnect()
            ops = len(lat)
            slowest = max(lat)
            raw[(threads, name)] = {
                "ops_s": ops / elapsed,
                "p50": percentile(lat, 50),
                "p99": percentile(lat, 99),
            }
            rows.append(
                [
                    threads,
                    name,
                    f"{ops / elapsed:,.0f}",
                    f"{percentile(lat, 50) * 1e6:.0f}",
                    f"{percentile(lat, 99) * 1e6:.0f}",
                    f"{slowest * 1e3:,.1f}",
                    f"{stats['waits']:,} / {stats['wait_ms_total']:,.0f} ms" if stats else "not counted",
                    opened,
                ]
            )
    headers = [
        "threads",
        "pool",
        "GET/s",
        "p50 µs",
        "p99 µs",
        "slowest ms",
        "waits / total wait",
        "server connections opened",
    ]
    return table(headers, rows), raw


def growth_section(
    url: str, port: int, admin: redis.Redis, total_ops: int = 4_000
) -> tuple[str, dict[str, Any]]:
    """Section 5: throughput and server connections as threads grow, pooled vs per-request."""
    from django_redis_pool._pool.thread_driver import BlockingPool

    rows, raw = [], {"pooled": {}, "per-request": {}}
    for threads in (1, 4, 16, 64):
        pool = BlockingPool.from_url(url, alias="g", safe_url=url, max_connections=16, timeout=20)
        pooled = redis.Redis(connection_pool=pool)
        for pattern in ("pooled", "per-request"):
            before, tw_before = server_counter(admin), time_wait_sockets(port)
            if pattern == "pooled":
                elapsed, lat = _thread_run(lambda p=pooled: p, threads, total_ops // threads)
            else:
                elapsed, lat = _per_request_run(url, threads, max(1, total_ops // 4 // threads))
            opened = server_counter(admin) - before
            tw = time_wait_sockets(port) - tw_before
            ops_s = len(lat) / elapsed
            raw[pattern][threads] = {"ops_s": ops_s, "opened": opened}
            rows.append([threads, pattern, len(lat), f"{ops_s:,.0f}", opened, tw])
        pool.disconnect()
    return table(
        ["threads", "pattern", "GETs", "GET/s", "server connections opened", "new TIME_WAIT sockets"], rows
    ), raw


def _per_request_run(url: str, threads: int, ops_per_thread: int) -> tuple[float, list[float]]:
    class PerRequest:
        def get(self, key: str) -> Any:
            client = redis.Redis.from_url(url, socket_timeout=5)
            try:
                return client.get(key)
            finally:
                client.close()

    return _thread_run(PerRequest, threads, ops_per_thread)


def pin(cpu: int, server_pid: int | None = None, server_cpu: int | None = None) -> None:
    os.sched_setaffinity(0, {cpu})
    if server_pid is not None and server_cpu is not None:
        os.sched_setaffinity(server_pid, {server_cpu})


def unpin(server_pid: int | None = None) -> None:
    cpus = set(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, cpus)
    if server_pid is not None:
        os.sched_setaffinity(server_pid, cpus)
