"""Continuous writes through a Sentinel alias while its master fails over: what was lost, how long
writes stopped. Shared by tests/test_sentinel.py and benchmarks/bench_failover.py."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis


@dataclass
class FailoverRun:
    acknowledged: int
    lost: int
    errors: int
    gap_s: float  # the longest stretch without an acknowledged write that survived (to the end if none)
    new_master: tuple[str, int]
    error_kinds: dict[str, int]


def _write(client: Any, key: str, wait_replicas: int) -> None:
    if not wait_replicas:
        client.set(key, 1)
        return
    with client.pipeline(transaction=False) as pipe:
        pipe.set(key, 1)
        pipe.execute_command("WAIT", wait_replicas, 1000)
        _, replicated = pipe.execute()
    if int(replicated) < wait_replicas:
        raise redis.ConnectionError(f"WAIT: {replicated} replicas")


def _present(target: redis.Redis, keys: list[str]) -> set[str]:
    """The keys ``target`` has, asked 1,000 at a time."""
    present: set[str] = set()
    for begin in range(0, len(keys), 1000):
        batch = keys[begin : begin + 1000]
        present.update(key for key, value in zip(batch, target.mget(batch), strict=True) if value is not None)
    return present


def write_through_failover(
    client: Any,
    fail_over: Callable[[], tuple[str, int]],
    admin: Callable[[int], redis.Redis],
    *,
    threads: int = 4,
    settle_s: float = 1.0,
    wait_replicas: int = 0,
) -> FailoverRun:
    """Write unique keys from ``threads`` threads, call ``fail_over()`` (which returns the new master
    once the sentinels agree), keep writing ``settle_s`` more, then count the acknowledged writes the
    new master does not have. With ``wait_replicas``, each write is followed by WAIT (the mitigation)."""
    acked: list[tuple[float, str]] = []
    errors: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 200_000:  # bounded: ~1,000 writes/s per thread at most
            key = f"failover:{n}:{i}"
            i += 1
            try:
                _write(client, key, wait_replicas)
                with lock:
                    acked.append((time.monotonic(), key))
            except (redis.RedisError, OSError) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                time.sleep(0.01)
            time.sleep(0.001)

    workers = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    new_master = fail_over()
    time.sleep(settle_s)
    stop.set()
    stopped = time.monotonic()
    for worker in workers:
        worker.join(timeout=30)
    target = admin(new_master[1])
    keys = [key for _, key in acked]
    present = _present(target, keys)
    # From the writes' start to their stop: writes that never resume count until the end, not as no gap.
    survived = sorted(at for at, key in acked if key in present and at >= started - 0.5)
    edges = [started - 0.5, *survived, stopped]
    gap = max(b - a for a, b in itertools.pairwise(edges))
    kinds = dict(collections.Counter(errors))
    return FailoverRun(
        acknowledged=len(acked),
        lost=len(keys) - len(present),
        errors=len(errors),
        gap_s=gap,
        new_master=new_master,
        error_kinds=kinds,
    )
