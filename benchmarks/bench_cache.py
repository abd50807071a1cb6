"""PooledRedisCache vs Django's RedisCache vs django-redis's RedisCache: get, set, get_many.

``python benchmarks/bench_cache.py [--rounds 41] [--n 500]`` starts its own redis-server, points the
three backends at it (pickle serializer for all, each with its own default parser: hiredis when
installed) and runs paired rounds: in every round each backend runs the operation ``n`` times,
in rotating order, so a change of CPU placement hits all three alike. Prints a markdown table of
median microseconds per call and the median per-round ratio peer time / ours (above 1: ours faster).

``python benchmarks/bench_cache.py --gunicorn [--seconds 5] [--connections 32] [--reps 2]`` measures server
connections instead: the benchsite's /cache/ view (a ``cache.get`` and a ``cache.set``) under
``gunicorn --workers 2 --worker-class gthread --threads 8``, a fresh gunicorn per run (``BENCH_CACHE``
picks the cache), driven by wrk. The connections the workers hold are counted from the server's side:
the ``CLIENT LIST`` entries whose address is a socket of a worker process (read from /proc). On a
shared machine requests/s moves by up to 2x from run to run, so each run is paired with the first
backend's run of the same repetition (the ratio of the pair), and the workers' CPU time per request
(from /proc, user + system) is given too: it moves much less with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import RedisServer, median, server_counter, setup_django, table, timed_loop

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


GUNICORN_ARGS = ["--workers", "2", "--worker-class", "gthread", "--threads", "8"]
GUNICORN_MAX_CONNECTIONS = 4  # REDIS_POOL['default'] and the "django_redis" cache's max_connections
GUNICORN_CONTENDERS = {  # label: the CACHES alias of benchsite/settings.py the view uses
    f"PooledRedisCache, MAX_CONNECTIONS {GUNICORN_MAX_CONNECTIONS}": "pooled",
    "Django RedisCache (defaults)": "builtin",
    "django-redis (defaults)": "django_redis_defaults",
    f"django-redis, max_connections {GUNICORN_MAX_CONNECTIONS}": "django_redis",
}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after "(comm)": ppid
                found.append(int(entry.name))
    return found


def _local_ports_to(pid: int, server_port: int) -> set[int]:
    """Local ports of ``pid``'s TCP sockets connected to ``server_port`` on loopback."""
    inodes = set()
    try:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes and int(fields[2].split(":")[1], 16) == server_port:
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def worker_cpu_seconds(workers: list[int]) -> float:
    """User + system CPU time the ``workers`` processes (all their threads) have used."""
    ticks = 0
    for pid in workers:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_connections(admin: Any, workers: list[int], server_port: int) -> dict[int, int]:
    """Connections the server lists (CLIENT LIST) from each worker process."""
    ports = {pid: _local_ports_to(pid, server_port) for pid in workers}
    listed = {int(client["addr"].rsplit(":", 1)[1]) for client in admin.client_list()}
    return {pid: len(ports[pid] & listed) for pid in workers}


def _gunicorn_run(url: str, admin: Any, alias: str, seconds: int, connections: int) -> dict[str, Any]:
    """One gunicorn whose /cache/ view uses CACHES[alias], a warm-up, then one measured wrk run."""
    import bench_http

    server_port = int(url.rsplit(":", 1)[1].split("/")[0])
    opened_at_start = server_counter(admin)
    process, port = bench_http.start_gunicorn(
        url, GUNICORN_ARGS, GUNICORN_MAX_CONNECTIONS, extra_env={"BENCH_CACHE": alias}
    )
    try:
        deadline = time.monotonic() + 10
        while len(workers := _children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        bench_http.wrk(port, "/cache/", 1, connections)  # warm-up: imports, first connections
        peak: dict[int, int] = dict.fromkeys(workers, 0)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                for pid, count in worker_connections(admin, workers, server_port).items():
                    peak[pid] = max(peak[pid], count)

        sampler = threading.Thread(target=sample, daemon=True)
        opened_before_run = server_counter(admin)
        cpu_before_run = worker_cpu_seconds(workers)
        sampler.start()
        try:
            result = bench_http.wrk(port, "/cache/", seconds, connections)
        finally:
            done.set()
            sampler.join()
        cpu = worker_cpu_seconds(workers) - cpu_before_run
        return {
            **result,
            "cpu_us": cpu / max(1, result["requests"]) * 1e6,
            "peak": sorted(peak.values()),
            "after": sum(worker_connections(admin, workers, server_port).values()),
            "opened_in_run": server_counter(admin) - opened_before_run,
            "opened_in_all": server_counter(admin) - opened_at_start,
        }
    finally:
        bench_http.stop(process)


def gunicorn_section(
    url: str,
    admin: Any,
    seconds: int = 5,
    connections: int = 32,
    reps: int = 2,
    contenders: dict[str, str] = GUNICORN_CONTENDERS,
) -> str:
    """Requests/s and server connections per backend (label: CACHES alias) under 2 gthread workers x 8
    threads."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in contenders}
    for i in range(reps):  # a fresh gunicorn per run, order alternating: A B C D, D C B A, ...
        order = list(contenders.items())
        for label, alias in order if i % 2 == 0 else order[::-1]:
            runs[label].append(_gunicorn_run(url, admin, alias, seconds, connections))
    rows = []
    first = next(iter(runs.values()))
    for label, results in runs.items():
        worst = max(results, key=lambda r: sum(r["peak"]))
        each_rps = ", ".join(f"{r['rps']:,.0f}" for r in results)
        pairs = [r["rps"] / f["rps"] for r, f in zip(results, first, strict=True)]
        rows.append(
            [
                label,
                f"{median([r['rps'] for r in results]):,.0f} ({each_rps})",
                f"{median(pairs):.2f}x ({min(pairs):.2f}-{max(pairs):.2f})",
                f"{median([r['cpu_us'] for r in results]):,.0f}",
                f"{median([r['p99_ms'] for r in results]):.1f}",
                sum(r["errors"] for r in results),
                f"{sum(worst['peak'])} ({' + '.join(map(str, worst['peak']))})",
                max(r["after"] for r in results),
                max(r["opened_in_run"] for r in results),
                max(r["opened_in_all"] for r in results),
            ]
        )
    headers = [
        "backend",
        "requests/s, median (each run)",
        "requests/s / first row's in the same repetition, median (range)",
        "worker CPU µs per request, median",
        "p99 ms, median",
        "non-2xx, all runs",
        "server connections from the workers, peak (per worker)",
        "held after the run",
        "opened during the measured run",
        "opened since gunicorn started",
    ]
    return (
        f"`gunicorn --workers 2 --worker-class gthread --threads 8`, `wrk -c{connections}` for "
        f"{seconds} s after a 1 s warm-up; {reps} runs per backend, each on a fresh gunicorn, in "
        "alternating order; the view does `cache.get` then `cache.set` of a small dict. Worker CPU: "
        "the two workers' user + system time during the measured run over its requests (Django, "
        "gunicorn and the cache together). Connection columns: the largest of the runs.\n\n"
        + table(headers, rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--gunicorn", action="store_true", help="server connections under gunicorn")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    if args.gunicorn:
        import django
        import redis

        with RedisServer() as server:
            admin = server.admin()
            print(
                f"Django {django.get_version()}, redis-py {redis.__version__}, "
                "one redis-server on 127.0.0.1\n"
            )
            print(gunicorn_section(server.url, admin, args.seconds, args.connections, args.reps))
            admin.close()
        return
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
