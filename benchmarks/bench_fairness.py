"""Section 6: fairness with more threads than connections, for a fixed time per run.

Every thread GETs in a loop until the deadline; a call that started before the deadline is
timed to its end, even if a starved thread only gets its connection once the others stop.
Contenders run in the order A B C, then C B A, so drift in CPU placement hits them alike.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from common import KEY, VALUE, server_counter, table

THREAD_COUNTS = (8, 32, 64)
CONNECTIONS = 8
OURS = "this app's BlockingPool(8)"
REDIS_BLOCKING = "redis-py BlockingConnectionPool(8)"
UNBOUNDED = "redis-py ConnectionPool (unbounded)"
CONTENDERS = (OURS, REDIS_BLOCKING, UNBOUNDED)


def make_pool(name: str, url: str) -> Any:
    from django_redis_pool._pool.thread_driver import BlockingPool

    # A POOL_TIMEOUT that never fires inside a run: fairness is measured, not cut short.
    if name == OURS:
        return BlockingPool.from_url(url, alias="fair", safe_url=url, max_connections=CONNECTIONS, timeout=60)
    if name == REDIS_BLOCKING:
        return redis.BlockingConnectionPool.from_url(url, max_connections=CONNECTIONS, timeout=60)
    return redis.ConnectionPool.from_url(url, max_connections=2**31)


def timed_run(client: redis.Redis, threads: int, seconds: float) -> dict[str, Any]:
    """``threads`` threads GET until ``seconds`` have passed; per-thread latencies."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    in_time = [0] * threads  # calls that ended by the deadline: the throughput
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def work(i: int) -> None:
        out = latencies[i]
        get = client.get
        perf = time.perf_counter
        barrier.wait()
        end = deadline[0]
        started = perf()
        while started < end:
            get(KEY)
            finished = perf()
            out.append(finished - started)
            if finished <= end:
                in_time[i] += 1
            started = finished

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline[0] = time.perf_counter() + seconds
    barrier.wait()
    for worker in workers:  # bounded: a starved call ends when the others stop at the deadline
        worker.join(timeout=seconds + 120)
    return {"per_thread": latencies, "in_time": sum(in_time), "seconds": seconds}


def fairness_section(
    url: str, admin: redis.Redis, seconds: float = 4.0, rounds: int = 2
) -> tuple[str, dict[tuple[int, str], dict[str, float]]]:
    """8/32/64 threads on 8 connections: throughput, tail latency, least-served thread."""
    redis.Redis.from_url(url).set(KEY, VALUE)
    raw: dict[tuple[int, str], dict[str, float]] = {}
    rows = []
    for threads in THREAD_COUNTS:
        gathered: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
        opened: dict[str, list[int]] = {name: [] for name in CONTENDERS}
        for round_ in range(rounds):
            order = CONTENDERS if round_ % 2 == 0 else CONTENDERS[::-1]
            for name in order:
                pool = make_pool(name, url)
                client = redis.Redis(connection_pool=pool)
                before = server_counter(admin)
                gathered[name].append(timed_run(client, threads, seconds))
                opened[name].append(server_counter(admin) - before)
                pool.disconnect()
        for name in CONTENDERS:
            result = summarise(gathered[name])
            result["connections"] = max(opened[name])
            raw[(threads, name)] = result
            rows.append(
                [
                    threads,
                    name,
                    f"{result['ops_s']:,.0f}",
                    f"{result['p50'] * 1e6:,.0f}",
                    f"{result['p99'] * 1e6:,.0f}",
                    f"{result['p999'] * 1e3:,.1f}",
                    f"{result['slowest'] * 1e3:,.1f}",
                    f"{result['least_served']:.2f}",
                    f"{result['min_gets']:,.0f} / {result['mean_gets']:,.0f} / {result['max_gets']:,.0f}",
                    result["connections"],
                ]
            )
    headers = [
        "threads",
        "pool",
        "GET/s",
        "p50 µs",
        "p99 µs",
        "p99.9 ms",
        "slowest call ms",
        "least-served thread / mean",
        "GETs per thread min / mean / max (worse round)",
        "server connections opened",
    ]
    return table(headers, rows), raw


def summarise(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Pool the rounds of one contender; fairness is that of its worse round."""
    every: list[float] = []
    completed = elapsed = 0.0
    worst: tuple[float, list[int]] = (2.0, [])
    for run in runs:
        counts = [len(part) for part in run["per_thread"]]
        mean = sum(counts) / len(counts)
        fraction = min(counts) / mean if mean else 0.0
        if fraction < worst[0]:
            worst = (fraction, counts)
        for part in run["per_thread"]:
            every.extend(part)
        completed += run["in_time"]
        elapsed += run["seconds"]
    every.sort()

    def at(q: float) -> float:
        return every[min(len(every) - 1, int(q * len(every)))] if every else 0.0

    least_served, counts = worst
    return {
        "ops_s": completed / elapsed,
        "p50": at(0.50),
        "p99": at(0.99),
        "p999": at(0.999),
        "slowest": every[-1] if every else 0.0,
        "least_served": least_served,
        "min_gets": min(counts),
        "mean_gets": sum(counts) / len(counts),
        "max_gets": max(counts),
    }


def ratio_lines(raw: dict[tuple[int, str], dict[str, float]]) -> list[str]:
    """The issue's three targets per thread count, this app's pool against redis-py's blocking one."""
    lines = []
    for threads in THREAD_COUNTS:
        ours, theirs = raw.get((threads, OURS)), raw.get((threads, REDIS_BLOCKING))
        if not ours or not theirs:
            continue
        control = " (the control: a connection per thread, nobody waits)" if threads <= CONNECTIONS else ""
        lines.append(
            f"- {threads} threads on {CONNECTIONS} connections{control}, `BlockingPool` vs redis-py's "
            f"`BlockingConnectionPool`: least-served thread **{ours['least_served']:.2f}** of the mean "
            f"(redis-py {theirs['least_served']:.2f}; target >= 0.5); slowest call "
            f"**{ours['slowest'] / theirs['slowest']:.3f}** of redis-py's "
            f"({ours['slowest'] * 1e3:,.0f} ms vs {theirs['slowest'] * 1e3:,.0f} ms; target <= 0.1); "
            f"throughput **{ours['ops_s'] / theirs['ops_s']:.2f}x** redis-py's (target >= 1.0x; section 6)."
        )
    return lines
