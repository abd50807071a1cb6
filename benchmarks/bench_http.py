"""Section 4: a real Django view under gunicorn, driven by wrk on loopback."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import redis
from common import ROOT, median, server_counter, table

from tests.support.redis_server import free_port

VIEWS = {
    "get_redis()": "/pooled/",
    "new connection per request": "/per-request/",
    "django-redis get_redis_connection()": "/django-redis/",
    "no Redis (ceiling)": "/no-redis/",
}
CONFIGS = {
    "2 sync workers": ["--workers", "2", "--worker-class", "sync"],
    "2 workers x 4 threads": ["--workers", "2", "--worker-class", "gthread", "--threads", "4"],
}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def parse_wrk(output: str) -> dict[str, float]:
    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    # Anchored: an unanchored "50%" also matches the "+/- Stdev" column (e.g. "68.50%") and then
    # reads the next word, "Req/Sec", as the percentile.
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # "Latency   avg   stdev   max   +/- stdev" in wrk's thread statistics
    latency_max = re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", output, re.MULTILINE)
    if not (requests and rps and p50 and p99):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return {
        "requests": int(requests.group(1)),
        "rps": float(rps.group(1)),
        "p50_ms": _to_ms(p50.group(1)),
        "p99_ms": _to_ms(p99.group(1)),
        "max_ms": _to_ms(latency_max.group(1)) if latency_max else float("nan"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _wait_http(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def start_gunicorn(
    url: str, args: list[str], max_connections: int, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(
        os.environ,
        **(extra_env or {}),
        BENCH_REDIS_URL=url,
        BENCH_MAX_CONNECTIONS=str(max_connections),
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "benchsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--preload",
            "--log-level",
            "warning",
            *args,
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    _wait_http(port)
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def wrk(port: int, path: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    return parse_wrk(out)


def http_section(url: str, admin: redis.Redis, reps: int = 3, seconds: int = 3) -> tuple[str, dict[str, Any]]:
    if shutil.which("wrk") is None:
        return "wrk is not installed (`apt-get install wrk`): section skipped.", {}
    rows, raw = [], {}
    for config, args in CONFIGS.items():
        process, port = start_gunicorn(url, args, max_connections=4)
        try:
            for path in VIEWS.values():  # warm-up: workers import, pools connect
                wrk(port, path, 1, 8)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in VIEWS}
            opened: dict[str, list[float]] = {name: [] for name in VIEWS}
            for _ in range(reps):  # interleaved: A B C D A B C D ...
                for name, path in VIEWS.items():
                    before = server_counter(admin)
                    result = wrk(port, path, seconds, 8)
                    opened[name].append((server_counter(admin) - before) / result["requests"] * 1000)
                    runs[name].append(result)
        finally:
            stop(process)
        pooled_rps = median([r["rps"] for r in runs["get_redis()"]])
        for name in VIEWS:
            rps = median([r["rps"] for r in runs[name]])
            raw[(config, name)] = rps
            rows.append(
                [
                    config,
                    name,
                    f"{rps:,.0f}",
                    f"{median([r['p50_ms'] for r in runs[name]]):.2f}",
                    f"{median([r['p99_ms'] for r in runs[name]]):.2f}",
                    f"{median(opened[name]):,.1f}",
                    f"{pooled_rps / rps:.2f}x" if name != "get_redis()" else "1.00x",
                    sum(r["errors"] for r in runs[name]),
                ]
            )
    headers = [
        "gunicorn",
        "view",
        "requests/s",
        "p50 ms",
        "p99 ms",
        "new server conns / 1,000 req",
        "get_redis() speed-up",
        "non-2xx",
    ]
    return table(headers, rows), raw


# More threads than connections: each gthread worker runs 16 requests at once on 4 connections.
OVERSUBSCRIBED = "2 workers x 16 threads, MAX_CONNECTIONS 4"
OVERSUBSCRIBED_ARGS = ["--workers", "2", "--worker-class", "gthread", "--threads", "16"]
OVERSUBSCRIBED_VIEWS = {
    "get_redis() (BlockingPool)": "/pooled/",
    "redis-py BlockingConnectionPool(4), module-level client": "/redis-py-blocking/",
    "no Redis (ceiling)": "/no-redis/",
}
OVERSUBSCRIBED_WRK_CONNECTIONS = 32  # one request in flight per gunicorn thread


def oversubscribed_section(
    url: str, admin: redis.Redis, reps: int = 3, seconds: int = 3
) -> tuple[str, dict[str, dict[str, float]]]:
    """gthread workers with more threads than MAX_CONNECTIONS: this app's pool vs redis-py's."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (`apt-get install wrk`): section skipped.", {}
    process, port = start_gunicorn(url, OVERSUBSCRIBED_ARGS, max_connections=4)
    connections = OVERSUBSCRIBED_WRK_CONNECTIONS
    try:
        for path in OVERSUBSCRIBED_VIEWS.values():  # warm-up: workers import, pools connect
            wrk(port, path, 1, connections)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in OVERSUBSCRIBED_VIEWS}
        opened: dict[str, int] = dict.fromkeys(OVERSUBSCRIBED_VIEWS, 0)
        for i in range(reps):  # interleaved, order alternating: A B C, C B A, ...
            order = list(OVERSUBSCRIBED_VIEWS.items())
            for name, path in order if i % 2 == 0 else order[::-1]:
                before = server_counter(admin)
                runs[name].append(wrk(port, path, seconds, connections))
                opened[name] += server_counter(admin) - before
    finally:
        stop(process)
    raw: dict[str, dict[str, float]] = {}
    rows = []
    for name in OVERSUBSCRIBED_VIEWS:
        result = {
            "rps": median([r["rps"] for r in runs[name]]),
            "p50_ms": median([r["p50_ms"] for r in runs[name]]),
            "p99_ms": median([r["p99_ms"] for r in runs[name]]),
            "max_ms": max(r["max_ms"] for r in runs[name]),
            "errors": sum(r["errors"] for r in runs[name]),
        }
        raw[name] = result
        rows.append(
            [
                name,
                f"{result['rps']:,.0f}",
                f"{result['p50_ms']:.2f}",
                f"{result['p99_ms']:.2f}",
                f"{result['max_ms']:,.1f}",
                opened[name],
                result["errors"],
            ]
        )
    headers = [
        "view",
        "requests/s (median)",
        "p50 ms (median)",
        "p99 ms (median)",
        f"slowest request ms (of {reps} runs)",
        "server connections opened during the runs",
        "non-2xx",
    ]
    text = (
        f"{OVERSUBSCRIBED}: `gunicorn --workers 2 --worker-class gthread --threads 16`, "
        f"`wrk -c{connections}`, {reps} interleaved runs of {seconds} s per view.\n\n" + table(headers, rows)
    )
    return text, raw
