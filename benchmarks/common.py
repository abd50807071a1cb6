"""Helpers shared by the benchmark sections: Django set-up, timing, statistics."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from tests.support.redis_server import RedisServer  # noqa: E402

KEY = "bench:k"
VALUE = b"v" * 16


def setup_django(url: str, max_connections: int = 50) -> None:
    """Configure Django in this process with every contender on the same server."""
    os.environ["BENCH_REDIS_URL"] = url
    os.environ["BENCH_MAX_CONNECTIONS"] = str(max_connections)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    import django

    django.setup()


def timed_loop(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of ``fn`` over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def interleaved(
    variants: dict[str, tuple[Callable[[], object], int]], reps: int = 5
) -> dict[str, list[float]]:
    """Run each variant once per round, A B C A B C ..., after one warm-up round."""
    results: dict[str, list[float]] = {name: [] for name in variants}
    for fn, n in variants.values():
        timed_loop(fn, max(1, n // 10))
    for _ in range(reps):
        for name, (fn, n) in variants.items():
            results[name].append(timed_loop(fn, n))
    return results


def paired_ratios(
    a: Callable[[], object], b: Callable[[], object], rounds: int = 41, n: int = 500
) -> list[float]:
    """Time of ``a`` / time of ``b`` in each of ``rounds`` short back-to-back rounds.

    Each round runs both (order alternating), so a change of CPU placement or clock,
    which moves absolute times by up to 4x here, hits both sides of a ratio alike.
    """
    timed_loop(a, n)
    timed_loop(b, n)
    ratios = []
    for i in range(rounds):
        if i % 2:
            tb, ta = timed_loop(b, n), timed_loop(a, n)
        else:
            ta, tb = timed_loop(a, n), timed_loop(b, n)
        ratios.append(ta / tb)
    return ratios


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def server_counter(admin: object, name: str = "total_connections_received", section: str = "stats") -> int:
    return int(admin.info(section)[name])  # type: ignore[attr-defined]


def time_wait_sockets(port: int) -> int:
    """TCP sockets in TIME_WAIT to or from ``port`` on loopback, from /proc (no tool needed)."""
    count = 0
    hex_port = f"{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "06" and (
                fields[1].endswith(":" + hex_port) or fields[2].endswith(":" + hex_port)
            ):
                count += 1
    return count


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


__all__ = ["KEY", "ROOT", "VALUE", "RedisServer"]
