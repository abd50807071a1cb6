"""How long one call takes while Redis fails, with and without COMMAND_TIMEOUT (issue 18, "Measure").

    python benchmarks/resilience.py [--threads 1 16] [--scenarios refusing stalled black-holed]
                                    [--contenders none derived one plain] [--driver sync]

A redis-server on a loopback port sits behind tests/support/proxy.py, which makes it refuse
connections, stall (nothing read or answered, connects wait in the backlog: what SIGSTOP does), or
black-hole (accept, never answer). Every contender uses the README's settings (SOCKET_TIMEOUT 5,
SOCKET_CONNECT_TIMEOUT 5, POOL_TIMEOUT 5, MAX_CONNECTIONS 4) and redis-py's default retries; each
thread makes one GET once one pooled connection is open. Each measurement runs in a fresh process.

Contenders: ``none`` is this app with ``COMMAND_TIMEOUT: None`` (what it did before the deadline),
``derived`` its default (SOCKET_CONNECT_TIMEOUT + SOCKET_TIMEOUT = 10 s), ``one`` ``COMMAND_TIMEOUT: 1``,
``plain`` redis-py's ``BlockingConnectionPool`` with the same limits and ``redis.Redis()``'s
default retries. "attempts" counts the
connections the proxy accepted after the fault began (refused connects are not accepted).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.proxy import FaultProxy  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

LIMITS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5, "MAX_CONNECTIONS": 4}
CONTENDERS = {
    "none": "this app, COMMAND_TIMEOUT None (before)",
    "derived": "this app, default COMMAND_TIMEOUT (10 s)",
    "one": "this app, COMMAND_TIMEOUT 1",
    "plain": "plain redis-py",
}
SCENARIOS = ("refusing", "stalled", "black-holed")
RESULT_PREFIX = "RESULT "
RUN_TIMEOUT_S = 300


def _client(contender: str, url: str, driver: str) -> Callable[[], Any]:
    if contender == "plain":
        import redis
        import redis.asyncio

        module: Any = redis.asyncio if driver == "asyncio" else redis
        # What redis.Redis(host=...) passes its pool: its default retry policy.
        retry = copy.deepcopy(inspect.signature(module.Redis.__init__).parameters["retry"].default)
        pool = module.BlockingConnectionPool.from_url(
            url, max_connections=4, timeout=5, socket_timeout=5, socket_connect_timeout=5, retry=retry
        )
        plain = module.Redis(connection_pool=pool)
        return lambda: plain
    import django
    from django.conf import settings

    timeout = {"none": {"COMMAND_TIMEOUT": None}, "derived": {}, "one": {"COMMAND_TIMEOUT": 1}}[contender]
    settings.configure(
        INSTALLED_APPS=["django_redis_pool"],
        LOGGING_CONFIG=None,
        REDIS_POOL={"default": {"URL": url, **LIMITS, **timeout}},
    )
    django.setup()
    from django_redis_pool import get_async_redis, get_redis

    return get_async_redis if driver == "asyncio" else get_redis  # the former in the loop


def _fault(proxy: FaultProxy, scenario: str) -> None:
    {"refusing": proxy.refuse, "stalled": proxy.stall, "black-holed": proxy.black_hole}[scenario]()


def _timed(outcomes: list[tuple[float, str]], started: float, error: BaseException | None) -> None:
    outcomes.append((time.monotonic() - started, type(error).__name__ if error else "ok"))


def _run_threads(client: Any, proxy: FaultProxy, scenario: str, threads: int) -> list[tuple[float, str]]:
    outcomes: list[tuple[float, str]] = []

    def call() -> None:
        started = time.monotonic()
        try:
            client.get("bench:k")
        except Exception as exc:
            _timed(outcomes, started, exc)
        else:
            _timed(outcomes, started, None)

    client.set("bench:k", "v")  # one pooled connection is open when the fault begins
    _fault(proxy, scenario)
    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def _run_tasks(client: Any, proxy: FaultProxy, scenario: str, tasks: int) -> list[tuple[float, str]]:
    outcomes: list[tuple[float, str]] = []

    async def call() -> None:
        started = time.monotonic()
        try:
            await client.get("bench:k")
        except Exception as exc:
            _timed(outcomes, started, exc)
        else:
            _timed(outcomes, started, None)

    async def run() -> None:
        nonlocal client
        client = client()
        await client.set("bench:k", "v")
        _fault(proxy, scenario)
        await asyncio.gather(*(call() for _ in range(tasks)))

    asyncio.run(run())
    return outcomes


def one(contender: str, scenario: str, threads: int, port: int, driver: str) -> dict[str, Any]:
    """One measurement in this process: ``threads`` callers (tasks for asyncio), one GET each."""
    with FaultProxy(("127.0.0.1", port)) as proxy:
        client = _client(contender, proxy.url(), driver)
        accepted = proxy.accepted + 1  # the connection opened before the fault
        run = _run_tasks if driver == "asyncio" else _run_threads
        outcomes = run(client if driver == "asyncio" else client(), proxy, scenario, threads)
        seconds = [s for s, _ in outcomes]
        return {
            "median_s": statistics.median(seconds),
            "max_s": max(seconds),
            "errors": sorted({e for _, e in outcomes}),
            "attempts": proxy.accepted - accepted,
        }


def _run_child(contender: str, scenario: str, threads: int, port: int, driver: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", contender, scenario, str(threads), str(port), driver]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
            return result
    raise RuntimeError(f"{contender}/{scenario}/{threads} failed:\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--driver", choices=("sync", "asyncio"), default="sync")
    args = parser.parse_args()
    if args.one:
        contender, scenario, threads, port, driver = args.one
        print(RESULT_PREFIX + json.dumps(one(contender, scenario, int(threads), int(port), driver)))
        return
    import redis

    print(
        f"redis-py {redis.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"driver {args.driver}; README limits {LIMITS}, redis-py's default retries"
    )
    print("| Redis is... | threads | contender | median s | slowest s | attempts | errors |")
    print("|---|---|---|---|---|---|---|")
    with RedisServer() as server:
        for scenario in args.scenarios:
            for threads in args.threads:
                for contender in args.contenders:
                    result = _run_child(contender, scenario, threads, server.port, args.driver)
                    print(
                        f"| {scenario} | {threads} | {CONTENDERS[contender]} | {result['median_s']:.2f} | "
                        f"{result['max_s']:.2f} | {result['attempts']} | {', '.join(result['errors'])} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
