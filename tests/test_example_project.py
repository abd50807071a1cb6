"""The example project's pages through Django's test client, on fakeredis and on the real server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from tests.redis_server import RedisServer


@pytest.fixture(params=["fake", "real"])
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
