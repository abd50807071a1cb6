"""Section 4c: the example project's counter view, async under uvicorn vs sync under gunicorn, via wrk.

Every server is started first and then driven in turns (server A's views, B's, C's, D's, then the
order reversed, ...), so drift in CPU placement on this shared machine hits each of them alike; idle
servers wait on their sockets and take no CPU from the one being measured.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import redis
from bench_http import _wait_http, start_gunicorn, stop, wrk
from common import ROOT, median, server_counter, table

from tests.support.redis_server import free_port

MAX_CONNECTIONS = 8  # per process, for every server
WRK_CONNECTIONS = 8
ASYNC_VIEWS = {"INCR": "/async-incr/", "no Redis (ceiling)": "/async-no-redis/"}
SYNC_VIEWS = {"INCR": "/incr/", "no Redis (ceiling)": "/no-redis/"}
# name -> (server, arguments, views)
SERVERS: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "uvicorn, 1 worker, async view": ("uvicorn", ["--workers", "1"], ASYNC_VIEWS),
    "uvicorn, 2 workers, async view": ("uvicorn", ["--workers", "2"], ASYNC_VIEWS),
    "gunicorn, 2 sync workers, sync view": (
        "gunicorn",
        ["--workers", "2", "--worker-class", "sync"],
        SYNC_VIEWS,
    ),
    "gunicorn, 2 workers x 4 threads, sync view": (
        "gunicorn",
        ["--workers", "2", "--worker-class", "gthread", "--threads", "4"],
        SYNC_VIEWS,
    ),
}


def uvicorn_flavour() -> str:
    """uvicorn's choices with `--loop auto --http auto`: uvloop and httptools when installed."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} + {http}"


def start_uvicorn(url: str, args: list[str], max_connections: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(
        os.environ,
        BENCH_REDIS_URL=url,
        BENCH_MAX_CONNECTIONS=str(max_connections),
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
    )
    command = [sys.executable, "-m", "uvicorn", "benchsite.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log", "--lifespan", "off", *args]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    _wait_http(port)
    return process, port


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("wrk",) if shutil.which(tool) is None]
    if importlib.util.find_spec("uvicorn") is None:
        missing.append("uvicorn")
    return missing


def asgi_section(
    url: str, admin: redis.Redis, reps: int = 3, seconds: int = 3
) -> tuple[str, dict[tuple[str, str], dict[str, float]]]:
    """requests/s, p50 and p99 of the INCR view (and of a no-Redis ceiling) on each server."""
    missing = _missing_tools()
    if missing:
        return f"{' and '.join(missing)} not installed (`make bench` installs them): section skipped.", {}
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    opened: dict[tuple[str, str], int] = {}
    try:
        for name, (server, args, _) in SERVERS.items():
            start = start_uvicorn if server == "uvicorn" else start_gunicorn
            started[name] = start(url, args, MAX_CONNECTIONS)
        for name, (_, _, views) in SERVERS.items():  # warm-up: workers import, pools connect
            for path in views.values():
                wrk(started[name][1], path, 1, WRK_CONNECTIONS)
        order = list(SERVERS.items())
        for rep in range(reps):
            for name, (_, _, views) in order if rep % 2 == 0 else order[::-1]:
                for view, path in views.items():
                    before = server_counter(admin)
                    runs.setdefault((name, view), []).append(
                        wrk(started[name][1], path, seconds, WRK_CONNECTIONS)
                    )
                    opened[(name, view)] = opened.get((name, view), 0) + server_counter(admin) - before
    finally:
        for process, _ in started.values():
            stop(process)
    raw: dict[tuple[str, str], dict[str, float]] = {}
    for key, results in runs.items():
        raw[key] = {
            "rps": median([r["rps"] for r in results]),
            "p50_ms": median([r["p50_ms"] for r in results]),
            "p99_ms": median([r["p99_ms"] for r in results]),
            "errors": sum(r["errors"] for r in results),
        }
    base = raw[("gunicorn, 2 sync workers, sync view", "INCR")]["rps"]
    rows = [
        [
            name,
            view,
            f"{result['rps']:,.0f}",
            f"{result['p50_ms']:.2f}",
            f"{result['p99_ms']:.2f}",
            f"{result['rps'] / base:.2f}x",
            opened[(name, view)],
            result["errors"],
        ]
        for (name, view), result in raw.items()
    ]
    headers = [
        "server",
        "view",
        "requests/s (median)",
        "p50 ms (median)",
        "p99 ms (median)",
        "vs gunicorn 2 sync workers, INCR",
        "server connections opened during the runs",
        "non-2xx",
    ]
    text = (
        f"`wrk -t2 -c{WRK_CONNECTIONS}`, {reps} interleaved runs of {seconds} s per server and view; "
        f"MAX_CONNECTIONS {MAX_CONNECTIONS} per process; uvicorn on {uvicorn_flavour()}, without access "
        "log.\n\n" + table(headers, rows)
    )
    return text, raw


def summary_line(raw: dict[tuple[str, str], dict[str, float]]) -> list[str]:
    if not raw:
        return []
    rps = {name: raw[(name, "INCR")]["rps"] for name in SERVERS}
    p99 = {name: raw[(name, "INCR")]["p99_ms"] for name in SERVERS}
    one, two, sync, threads = SERVERS
    return [
        f"- The example's INCR view, async under uvicorn vs sync under gunicorn (section 4c): "
        f"**{rps[one]:,.0f}** requests/s with 1 uvicorn worker and **{rps[two]:,.0f}** with 2, vs "
        f"**{rps[sync]:,.0f}** with 2 sync gunicorn workers and **{rps[threads]:,.0f}** with 2 x 4 "
        f"threads (2 uvicorn workers / 2 sync gunicorn workers: **{rps[two] / rps[sync]:.2f}x**); "
        f"p99 {p99[one]:.1f} / {p99[two]:.1f} / {p99[sync]:.1f} / {p99[threads]:.1f} ms."
    ]
