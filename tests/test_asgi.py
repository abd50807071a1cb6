"""The example project's async view: through Django's AsyncClient, and served by a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient, Client

from django_redis_pool import get_async_redis, get_stats
from django_redis_pool._pool.naming import parse_client_name
from tests.support.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real_redis)])
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "real":
        request.getfixturevalue("real_redis")
    else:
        settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "POOL_TIMEOUT": 5}}
    return str(request.param)


def visits(html: str) -> int:
    match = re.search(r'<strong id="visits">(\d+)</strong>', html)
    assert match is not None, html
    return int(match.group(1))


def test_async_view_counts_visits_on_the_sync_views_counter(backend: str, client: Client) -> None:
    async def visit_twice() -> list[tuple[int, str]]:
        async_client = AsyncClient()
        pages = [await async_client.get("/async/"), await async_client.get("/async/")]
        return [(page.status_code, page.text) for page in pages]

    first_sync = client.get("/")
    (first, page), (second, page2) = asyncio.run(visit_twice())
    assert (first_sync.status_code, first, second) == (200, 200, 200)
    assert (visits(first_sync.text), visits(page), visits(page2)) == (1, 2, 3)
    assert "await get_async_redis()" in page
    assert visits(client.get("/").text) == 4
    assert 'href="/async/"' in first_sync.text


def test_async_pool_view_shows_the_loops_pool(backend: str) -> None:
    async def visit() -> dict[str, Any]:
        async_client = AsyncClient()
        for _ in range(3):
            assert (await async_client.get("/async/")).status_code == 200
        return json.loads((await async_client.get("/async/pool/")).text)  # type: ignore[no-any-return]

    stats = asyncio.run(visit())["pools"]["default"]
    assert stats["checkouts"] == 0  # the sync pool: the async view never touched it
    pooled = stats["async"]
    assert (pooled["loops"], pooled["checkouts"], pooled["in_use"], pooled["peak_in_use"]) == (1, 3, 0, 1)


def test_async_view_on_the_real_server_leaves_no_connection_after_its_loop(
    real_redis: RedisServer, settings: Any
) -> None:
    def pooled() -> int:
        return sum(1 for c in real_redis.admin().client_list() if _pid_of(c) == os.getpid())

    before = pooled()

    async def visit() -> int:
        async_client = AsyncClient()
        pages = await asyncio.gather(*(async_client.get("/async/") for _ in range(10)))
        assert {page.status_code for page in pages} == {200}
        return pooled()

    during = asyncio.run(visit())
    assert during > before
    assert pooled() == before  # asyncio.run closed the loop's pool
    assert int(real_redis.admin().get("example:visits")) == 10


def _pid_of(client: dict[str, Any]) -> int | None:
    name = parse_client_name(str(client.get("name", "")))
    return name.pid if name is not None and name.prefix == "django_redis_pool" else None


# uvicorn's own CLI, with one addition: uvicorn >= 0.29 ends a SIGTERM'd process by re-raising the
# signal once it has shut down (lifespan included), inside its event loop. A handler installed here
# is the one uvicorn restores and re-raises to; it holds the process at that very moment, so that the
# test sees what the server holds when a plain `uvicorn` would die, then dies the same way.
UVICORN = """
import signal, sys
import uvicorn

def hold_then_die(signum, frame):
    print("stopped", flush=True)
    sys.stdin.read()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)

signal.signal(signal.SIGTERM, hold_then_die)
sys.argv[0] = "uvicorn"
uvicorn.main()
"""
MAX_CONNECTIONS = 4
REQUESTS = 200
CLIENTS = 20


def wait_for(predicate: Any, timeout: float, what: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{what} (uvicorn exit code {process.poll()}):\n{log.read_text()[-3000:]}")


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_uvicorn_serves_the_async_view_to_concurrent_clients_on_bounded_pool(
    redis_server: RedisServer,
) -> None:
    admin = redis_server.admin()
    admin.flushall()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG")}
    env.update(REDIS_URL=redis_server.url, REDIS_MAX_CONNECTIONS=str(MAX_CONNECTIONS))
    env.update(PYTHONUNBUFFERED="1", PYTHONWARNINGS="default")  # a ResourceWarning shows in the log
    command = [sys.executable, "-c", UVICORN, "--app-dir", "example_project", "example.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with tempfile.TemporaryDirectory() as tmp:
        log, out = Path(tmp) / "uvicorn.log", Path(tmp) / "uvicorn.out"
        with log.open("w") as stderr, out.open("w") as stdout:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, text=True
            )

        def pooled() -> int:
            return sum(1 for c in admin.client_list() if _pid_of(c) == process.pid)

        try:
            wait_for(lambda: _listens(port), 10, "uvicorn did not listen", process, log)
            seen: list[int] = []
            done = threading.Event()

            def watch() -> None:  # the server's view of the uvicorn process, all along the run
                while not done.is_set():
                    seen.append(pooled())
                    time.sleep(0.01)

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                with ThreadPoolExecutor(CLIENTS) as pool:
                    responses = list(pool.map(lambda _: get(f"{base}/async/"), range(REQUESTS)))
            finally:
                done.set()
                watcher.join(timeout=10)
            assert [status for status, _ in responses] == [200] * REQUESTS
            counts = sorted(visits(body.decode()) for _, body in responses)
            assert counts == list(range(1, REQUESTS + 1))  # every INCR applied once, none lost
            assert int(admin.get("example:visits")) == REQUESTS
            assert 0 < max(seen) <= MAX_CONNECTIONS
            status, body = get(f"{base}/async/pool/")
            assert status == 200
            stats = json.loads(body)["pools"]["default"]["async"]
            assert (stats["max_connections"], stats["loops"], stats["in_use"]) == (MAX_CONNECTIONS, 1, 0)
            assert stats["checkouts"] == REQUESTS
            assert 0 < stats["peak_in_use"] <= MAX_CONNECTIONS
            assert stats["exhausted"] == 0
            assert pooled() == stats["connections_created"] > 0

            process.send_signal(signal.SIGTERM)
            wait_for(lambda: out.read_text() == "stopped\n", 10, "uvicorn did not stop", process, log)
            # Still alive, at the point a plain uvicorn ends: the lifespan shutdown closed the pool.
            assert process.poll() is None
            assert pooled() == 0
            assert process.stdin is not None
            process.stdin.close()
            assert process.wait(timeout=10) == -signal.SIGTERM
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        assert pooled() == 0
        text = log.read_text()
    assert "Application shutdown complete." in text
    for trouble in ("Traceback", "Warning", "never awaited", "Unclosed", "was destroyed", "ERROR"):
        assert trouble not in text, text


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_with_pool_lifespan_answers_lifespan_and_closes_the_loops_pools(
    real_redis: RedisServer, settings: Any
) -> None:
    from django_redis_pool.asgi import with_pool_lifespan

    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    async def run() -> list[Any]:
        await get_async_redis().ping()
        opened = get_stats("default")["async"]["loops"]
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[Any] = []

        async def receive() -> Any:
            return next(messages)

        async def send(message: Any) -> None:
            sent.append(message["type"])

        wrapped = with_pool_lifespan(app)
        await wrapped({"type": "http"}, receive, send)
        await wrapped({"type": "lifespan"}, receive, send)
        return [opened, "async" in get_stats("default"), sent]

    opened, still_open, sent = asyncio.run(run())
    assert (opened, still_open) == (1, False)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert calls == ["http"]


def test_the_async_view_under_wsgi_on_the_fakeredis_default() -> None:
    # runserver and gunicorn run an async view in a new event loop per request (asgiref).
    client = Client()
    pages = [client.get("/async/") for _ in range(3)]
    assert [page.status_code for page in pages] == [200, 200, 200]
    visits = [int(re.search(r'id="visits">(\d+)<', page.content.decode()).group(1)) for page in pages]
    assert visits[1:] == [visits[0] + 1, visits[0] + 2]
