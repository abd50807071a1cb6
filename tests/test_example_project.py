"""The example project's pages through Django's test client, on fakeredis and on the real server."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.support.redis_server import RedisServer


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real_redis)])
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.RATE_LIMIT = 3
    settings.RATE_WINDOW_SECONDS = 60
    if request.param == "real":
        request.getfixturevalue("real_redis")
    else:
        settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "POOL_TIMEOUT": 5}}
    return str(request.param)


def visits(html: str) -> int:
    match = re.search(r'<strong id="visits">(\d+)</strong>', html)
    assert match is not None, html
    return int(match.group(1))


def test_home_counts_visits(backend: str, client: Client) -> None:
    first = client.get("/")
    second = client.get("/")
    assert (first.status_code, second.status_code) == (200, 200)
    assert (visits(first.text), visits(second.text)) == (1, 2)


def test_rate_limited_view_allows_the_limit_then_answers_429(backend: str, client: Client) -> None:
    statuses = [client.get("/limited/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    blocked = client.get("/limited/")
    assert 0 < int(blocked["Retry-After"]) <= 60
    assert "Too many requests" in blocked.text


def test_rate_limit_is_per_client(backend: str, client: Client) -> None:
    for _ in range(3):
        client.get("/limited/")
    assert client.get("/limited/").status_code == 429
    assert client.get("/limited/", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_pool_page_shows_this_process_stats(backend: str, client: Client) -> None:
    client.get("/")
    data = json.loads(client.get("/pool/", {"format": "json"}).text)
    stats = data["pools"]["default"]["stats"]
    assert stats["checkouts"] == 1
    assert stats["connections_created"] == 1
    assert data["pools"]["default"]["pool"].startswith("<BlockingPool alias='default'")
    html = client.get("/pool/").text
    assert "<th>checkouts</th><td>1</td>" in html


def test_ping_view_reads_through_the_pool(real_redis: RedisServer, client: Client) -> None:
    real_redis.admin().set("example:ping", "pong")
    assert client.get("/ping/").content == b"pong"


EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "example_project"


def example_settings(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> dict[str, Any]:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(EXAMPLE_DIR / "example" / "settings.py"))


@pytest.mark.parametrize(
    ("redis_url", "django_debug", "debug"),
    [
        (None, None, True),  # the fakeredis:// demo
        ("fakeredis://", None, True),
        ("redis://cache.internal:6379/0", None, False),  # a real server: no debug page by default
        ("rediss://app:pw@cache.internal:6380/0", None, False),
        ("redis://127.0.0.1:6379/0", None, False),
        ("redis://127.0.0.1:6379/0", "1", True),  # asked for explicitly
        ("fakeredis://", "0", False),
    ],
)
def test_example_debug_is_on_by_default_only_on_fakeredis(
    monkeypatch: pytest.MonkeyPatch, redis_url: str | None, django_debug: str | None, debug: bool
) -> None:
    namespace = example_settings(monkeypatch, REDIS_URL=redis_url, DJANGO_DEBUG=django_debug)
    assert namespace["DEBUG"] is debug
    assert namespace["REDIS_POOL"]["default"]["URL"] == (redis_url or "fakeredis://")


def run_example(code: str) -> Any:
    """Run ``code`` in a fresh interpreter in example_project/, as gunicorn or uvicorn would; its JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env["DJANGO_DEBUG"] = "0"  # a 500 must not hide behind the debug page's 500
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=EXAMPLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_wsgi_application_serves_a_request() -> None:
    served = run_example(
        """
        import json, wsgiref.util
        from example.wsgi import application
        from django.conf import settings

        def get(path):
            environ = {"PATH_INFO": path, "HTTP_HOST": "127.0.0.1"}
            wsgiref.util.setup_testing_defaults(environ)
            started = []
            start_response = lambda status, headers, exc_info=None: started.append(status)
            body = b"".join(application(environ, start_response))
            return started[0], body.decode()

        (first, page), (second, page2) = get("/"), get("/")
        print(json.dumps({"settings": settings.SETTINGS_MODULE, "statuses": [first, second],
                          "visits": [p.split('id="visits">')[1].split("<")[0] for p in (page, page2)]}))
        """
    )
    assert served == {"settings": "example.settings", "statuses": ["200 OK", "200 OK"], "visits": ["1", "2"]}


def test_asgi_application_serves_a_request() -> None:
    served = run_example(
        """
        import asyncio, json
        from example.asgi import application
        from django.conf import settings

        async def get(path):
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                     "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                     "root_path": "", "headers": [(b"host", b"127.0.0.1")],
                     "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
            messages, sent = [{"type": "http.request", "body": b"", "more_body": False}], []

            async def receive():
                if messages:
                    return messages.pop()
                await asyncio.Event().wait()  # no disconnect: the handler cancels this when done

            async def send(message):
                sent.append(message)

            await application(scope, receive, send)
            body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            return sent[0]["status"], body.decode()

        first, second = asyncio.run(get("/")), asyncio.run(get("/"))
        print(json.dumps({"settings": settings.SETTINGS_MODULE, "statuses": [first[0], second[0]],
                          "visits": [p.split('id="visits">')[1].split("<")[0] for _, p in (first, second)]}))
        """
    )
    assert served == {"settings": "example.settings", "statuses": [200, 200], "visits": ["1", "2"]}


def test_docs_show_how_to_serve_the_example_project() -> None:
    readme = (EXAMPLE_DIR.parent / "docs" / "deployment.md").read_text()
    assert "gunicorn --chdir example_project example.wsgi" in readme
    assert "uvicorn --app-dir example_project example.asgi:application" in readme


def test_cached_view_is_rendered_once_then_served_from_the_cache(backend: str, client: Client) -> None:
    first, second = client.get("/cached/"), client.get("/cached/")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["renders"] == 1
    assert second.json() == first.json()  # the same body: cache_page answered, the view did not run
    assert "max-age=60" in second["Cache-Control"]


def test_session_view_counts_per_session(backend: str, client: Client) -> None:
    assert [client.get("/session/").json()["visits"] for _ in range(2)] == [1, 2]
    assert Client().get("/session/").json()["visits"] == 1
