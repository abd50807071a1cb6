"""Section 6b: fairness of the asyncio pools, 256 tasks on 8 connections on one event loop.

Every task GETs in a loop until the deadline; a call that started before it is timed to its end,
even if a starved task only gets its connection once the others stop. Contenders run in the order
A B, then B A. Each run is its own ``asyncio.run`` on the default (asyncio) event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
import redis.asyncio
from bench_fairness import summarise
from common import KEY, VALUE, server_counter, table

TASKS = 256
CONNECTIONS = 8
OURS = "this app's AsyncPool(8)"
REDIS_BLOCKING = "redis-py asyncio BlockingConnectionPool(8)"
CONTENDERS = (OURS, REDIS_BLOCKING)


def make_pool(name: str, url: str) -> Any:
    from django_redis_pool._pool.async_driver import AsyncPool

    # A pool timeout that never fires inside a run: fairness is measured, not cut short.
    if name == OURS:
        return AsyncPool.from_url(url, alias="fair", safe_url=url, max_connections=CONNECTIONS, timeout=60)
    return redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=CONNECTIONS, timeout=60)


async def timed_run(name: str, url: str, tasks: int, seconds: float) -> dict[str, Any]:
    """``tasks`` tasks GET until ``seconds`` have passed; per-task latencies."""
    pool = make_pool(name, url)
    client = redis.asyncio.Redis(connection_pool=pool)
    latencies: list[list[float]] = [[] for _ in range(tasks)]
    in_time = [0] * tasks  # calls that ended by the deadline: the throughput
    go = asyncio.Event()
    end = 0.0

    async def work(i: int) -> None:
        out = latencies[i]
        perf = time.perf_counter
        await go.wait()
        started = perf()
        while started < end:
            await client.get(KEY)
            finished = perf()
            out.append(finished - started)
            if finished <= end:
                in_time[i] += 1
            started = finished

    workers = [asyncio.ensure_future(work(i)) for i in range(tasks)]
    await asyncio.sleep(0)  # every task is waiting on the event
    end = time.perf_counter() + seconds
    go.set()
    try:
        # bounded: a starved call ends when the others stop at the deadline
        await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 120)
    finally:
        await client.aclose()
        await pool.disconnect()
    return {"per_thread": latencies, "in_time": sum(in_time), "seconds": seconds}


def async_fairness_section(
    url: str, admin: redis.Redis, seconds: float = 4.0, rounds: int = 2
) -> tuple[str, dict[str, dict[str, float]]]:
    """256 tasks on 8 connections: throughput, tail latency, least-served task."""
    redis.Redis.from_url(url).set(KEY, VALUE)
    gathered: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    opened: dict[str, list[int]] = {name: [] for name in CONTENDERS}
    for round_ in range(rounds):
        for name in CONTENDERS if round_ % 2 == 0 else CONTENDERS[::-1]:
            before = server_counter(admin)
            gathered[name].append(asyncio.run(timed_run(name, url, TASKS, seconds)))
            opened[name].append(server_counter(admin) - before)
    raw: dict[str, dict[str, float]] = {}
    rows = []
    for name in CONTENDERS:
        result = summarise(gathered[name])
        result["connections"] = max(opened[name])
        raw[name] = result
        rows.append(
            [
                name,
                f"{result['ops_s']:,.0f}",
                f"{result['p50'] * 1e3:,.1f}",
                f"{result['p99'] * 1e3:,.1f}",
                f"{result['slowest'] * 1e3:,.1f}",
                f"{result['least_served']:.2f}",
                f"{result['min_gets']:,.0f} / {result['mean_gets']:,.0f} / {result['max_gets']:,.0f}",
                result["connections"],
            ]
        )
    headers = [
        "pool",
        "GET/s",
        "p50 ms",
        "p99 ms",
        "slowest call ms",
        "least-served task / mean",
        "GETs per task min / mean / max (worse round)",
        "server connections opened",
    ]
    text = (
        f"{TASKS} tasks on one event loop, {CONNECTIONS} connections, {rounds} rounds of {seconds:g} s per "
        "pool (A B, then B A).\n\n" + table(headers, rows)
    )
    return text, raw


def summary_line(raw: dict[str, dict[str, float]]) -> list[str]:
    ours, theirs = raw.get(OURS), raw.get(REDIS_BLOCKING)
    if not ours or not theirs:
        return []
    return [
        f"- asyncio, {TASKS} tasks on {CONNECTIONS} connections on one loop, `AsyncPool` vs redis-py's "
        f"asyncio `BlockingConnectionPool`: least-served task **{ours['least_served']:.2f}** of the mean "
        f"(redis-py {theirs['least_served']:.2f}); slowest call **{ours['slowest'] * 1e3:,.0f} ms** vs "
        f"{theirs['slowest'] * 1e3:,.0f} ms; throughput **{ours['ops_s'] / theirs['ops_s']:.2f}x** "
        f"redis-py's ({ours['ops_s']:,.0f} vs {theirs['ops_s']:,.0f} GET/s; section 6b)."
    ]
