"""The fleet page and its JSON, in process: who may see it, what it shows, what it never shows."""

from __future__ import annotations

import json
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from django_redis_pool import fleet_page
from django_redis_pool._conf.fleet import get_fleet_settings
from django_redis_pool._fleet.store import FleetRead, index_key, process_key, write_snapshot
from django_redis_pool._pool.counters import STATS_KEYS
from django_redis_pool.fleet_page import FleetView
from django_redis_pool.models import Fleet
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import APP_PASSWORD, RedisServer, free_port

PASSWORD = "s3cret-Pa55-not-leaked"
STAFF = SimpleNamespace(is_active=True, is_staff=True)
NOT_STAFF = SimpleNamespace(is_active=True, is_staff=False)
INACTIVE_STAFF = SimpleNamespace(is_active=False, is_staff=True)


def stats(**values: Any) -> dict[str, Any]:
    floats = {"wait_ms_total", "wait_ms_max", "wait_ms_p50", "wait_ms_p99", "wait_ms_window_max"}
    base = {key: 0.0 if key in floats else 0 for key in STATS_KEYS}
    return {**base, "oldest_checkout_age_s": None, "breaker_state": "closed", **values}


def snapshot(host: str, pid: int, pools: list[dict[str, Any]], age_s: float = 1.25) -> dict[str, Any]:
    return {
        "schema": 1, "host": host, "pid": pid, "started": 1764680000.25, "role": "gunicorn",
        "version": "0.1.0", "published": 1764680010.5, "interval": 10.0, "pools": pools, "age_s": age_s,
    }  # fmt: skip


def pool(alias: str = "default", driver: str = "sync", **values: Any) -> dict[str, Any]:
    return {"alias": alias, "node": "", "driver": driver, "stats": stats(**values)}


FLEET = FleetRead(  # sorted by host and pid, as store.read_fleet answers
    snapshots=[
        snapshot("web-1", 4242, [pool(max_connections=10, in_use=3, idle=7, checkouts=40, peak_in_use=6)]),
        snapshot("web-1", 4244, [pool("sessions", max_connections=5, idle=2)]),
        snapshot(
            "web-2",
            4243,
            [
                pool(max_connections=1, in_use=1, waiting=2, waits=5, exhausted=3, wait_ms_p99=250.0),
                pool(driver="asyncio", max_connections=4, in_use=2, idle=1, wait_ms_p99=12.5),
            ],
        ),
        snapshot("web-3", 4245, [pool("cache-only", max_connections=2)]),  # an alias not configured here
    ],
    skipped=["django_redis_pool:{fleet}:web-9:1: schema 2, this version reads schema 1"],
)


@pytest.fixture
def fleet_on(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, float]]:
    """REDIS_POOL_FLEET on; the read from Redis answers FLEET (and records what it was asked)."""
    settings.REDIS_POOL = {
        "default": {"URL": f"redis://app:{PASSWORD}@127.0.0.1:1/0", "POOL_TIMEOUT": 5},
        "sessions": {"URL": "fakeredis://", "POOL_TIMEOUT": 5},
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    settings.STATIC_URL = "/static/"
    reads: list[tuple[Any, float]] = []

    def read(fleet_settings: Any, timeout: float, now: float) -> FleetRead:
        reads.append((fleet_settings, timeout))
        return FLEET

    monkeypatch.setattr(fleet_page, "_read", read)
    return reads


def get(user: Any, query: str = "", **view_options: Any) -> HttpResponse:
    request = RequestFactory().get(f"/redis/fleet/{query}")
    if user is not None:
        request.user = user
    response = FleetView.as_view(**view_options)(request)
    assert isinstance(response, HttpResponse)
    return response


@pytest.mark.parametrize("user", [None, NOT_STAFF, INACTIVE_STAFF])
def test_page_sends_anyone_but_staff_to_log_in(fleet_on: Any, user: Any) -> None:
    response = get(user)
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=%2Fredis%2Ffleet%2F")
    assert fleet_on == []  # nothing was read from Redis


@pytest.mark.parametrize("user", [None, NOT_STAFF, INACTIVE_STAFF])
def test_json_answers_403_to_anyone_but_staff(fleet_on: Any, user: Any) -> None:
    response = get(user, "?format=json")
    assert (response.status_code, json.loads(response.content)) == (403, {"error": "Staff only."})
    assert fleet_on == []


def test_json_gives_staff_a_row_per_process_totals_and_a_chart_point(fleet_on: Any) -> None:
    response = get(STAFF, "?format=json", timeout=0.5)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    document = json.loads(response.content)
    assert (document["enabled"], document["error"]) == (True, None)
    assert (document["namespace"], document["interval"]) == ("django_redis_pool", 10.0)
    assert [(settings.alias, timeout) for settings, timeout in fleet_on] == [("default", 0.5)]
    default = document["aliases"]["default"]
    assert [(row["host"], row["pid"], row["in_use"], row["max_connections"]) for row in default["rows"]] == [
        ("web-1", 4242, 3, 10),
        ("web-2", 4243, 3, 5),  # its sync and asyncio pools together
    ]
    assert [(row["exhausted"], row["waiting"], row["wait_ms_p99"]) for row in default["rows"]] == [
        (0, 0, 0.0),
        (3, 2, 250.0),
    ]
    assert (default["totals"]["in_use"], default["totals"]["exhausted"]) == (6, 3)
    assert default["chart"] == {"in_use": 6, "waiting": 2, "wait_ms_p99": 250.0}
    sessions = document["aliases"]["sessions"]
    assert [(row["pid"], row["idle"]) for row in sessions["rows"]] == [(4244, 2)]
    assert sessions["chart"] == {"in_use": 0, "waiting": 0, "wait_ms_p99": 0.0}
    assert document["skipped"] == FLEET.skipped
    assert list(document["aliases"]) == ["cache-only", "default", "sessions"]
    assert document["columns"][:3] == ["host", "pid", "role"]


def test_page_shows_staff_the_table_and_loads_its_script_from_static_files(fleet_on: Any) -> None:
    response = get(STAFF, "?refresh=2")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-url="/redis/fleet/?format=json" data-refresh="2"' in html
    assert '<script src="/static/django_redis_pool/fleet.js" defer></script>' in html
    assert html.count("<script") == 1  # no inline script: a CSP without 'unsafe-inline' allows the page
    assert "style=" not in html
    assert '<tr class="flagged"><td>web-2</td><td>4243</td><td>gunicorn</td>' in html
    assert "<td>2 processes</td>" in html
    assert 'data-alias="sessions"' in html
    assert "schema 2, this version reads schema 1" in html


@pytest.mark.parametrize(
    ("asked", "used"), [("", 5), ("?refresh=0", 1), ("?refresh=999", 60), ("?refresh=x", 5)]
)
def test_refresh_interval_is_bounded(fleet_on: Any, asked: str, used: int) -> None:
    assert f'data-refresh="{used}"' in get(STAFF, asked).content.decode()


def test_without_fleet_setting_the_page_says_how_to_turn_it_on(fleet_on: Any, settings: Any) -> None:
    settings.REDIS_POOL_FLEET = None  # as good as absent, and clears the parsed setting
    html = get(STAFF).content.decode()
    assert "Publishing is off" in html
    assert "REDIS_POOL_FLEET = {&quot;ALIAS&quot;: &quot;default&quot;, &quot;INTERVAL&quot;: 10}" in html
    document = json.loads(get(STAFF, "?format=json").content)
    assert (document["enabled"], document["enable_hint"]) == (False, fleet_page.ENABLE_HINT)
    assert document["aliases"]["default"]["rows"] == []
    assert fleet_on == []


def test_an_unreachable_fleet_alias_is_a_redacted_error_not_a_crash(
    fleet_on: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(fleet_settings: Any, timeout: float, now: float) -> FleetRead:
        raise RedisConnectionError(f"Error connecting to redis://app:{PASSWORD}@127.0.0.1:1/0.")

    monkeypatch.setattr(fleet_page, "_read", refuse)
    response = get(STAFF, "?format=json")
    assert response.status_code == 503
    assert (
        json.loads(response.content)["error"]
        == "ConnectionError: Error connecting to redis://app:***@127.0.0.1:1/0."
    )
    html = get(STAFF).content.decode()
    assert "Error connecting to redis://app:***@127.0.0.1:1/0." in html
    assert PASSWORD not in html


def test_neither_page_nor_json_shows_a_url_or_password(fleet_on: Any) -> None:
    for body in (get(STAFF).content.decode(), get(STAFF, "?format=json").content.decode()):
        assert (PASSWORD in body, "redis://" in body, "127.0.0.1:1" in body) == (False, False, False)


def test_the_wheel_ships_the_template_and_the_static_files() -> None:
    root = Path(__file__).resolve().parent.parent
    package = root / "django_redis_pool"
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    files = sorted(
        path.relative_to(package).as_posix()
        for folder in ("templates", "static")
        for path in (package / folder).rglob("*")
        if path.is_file()
    )
    assert files == [
        "static/django_redis_pool/fleet.css",
        "static/django_redis_pool/fleet.js",
        "templates/django_redis_pool/fleet.html",
    ]
    assert [f for f in files if not any(fnmatch(f, glob) for glob in shipped["django_redis_pool"])] == []


def test_staff_reads_what_processes_published_on_a_server_with_a_password(
    redis_server: RedisServer, settings: Any
) -> None:
    redis_server.admin().flushall()
    url = redis_server.url_for("app", APP_PASSWORD)
    settings.REDIS_POOL = {"default": {"URL": url, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    settings.STATIC_URL = "/static/"
    fleet_settings = get_fleet_settings()
    assert fleet_settings is not None
    now = time.time()
    worker = snapshot("web-7", 777, [pool(max_connections=1, in_use=1, exhausted=2)])
    write_snapshot(redis_server.admin(), fleet_settings, {**worker, "published": now}, now)
    broken = process_key(fleet_settings, {"host": "old", "pid": 1, "started": 1})
    redis_server.admin().set(broken, "{")  # not JSON: skipped with a line saying so
    redis_server.admin().zadd(index_key(fleet_settings), {broken: now + 30})

    data = get(STAFF, "?format=json").content.decode()
    html = get(STAFF).content.decode()
    document = json.loads(data)
    rows = document["aliases"]["default"]["rows"]
    assert [(row["host"], row["pid"], row["exhausted"]) for row in rows] == [("web-7", 777, 2)]
    assert [line.split(": ")[0] for line in document["skipped"]] == [
        "{django_redis_pool:fleet}:process:old:1:1"
    ]
    assert '<tr class="flagged"><td>web-7</td><td>777</td>' in html
    for body in (data, html):
        assert (APP_PASSWORD in body, "redis://" in body) == (False, False)


def test_a_fleet_alias_that_refuses_is_shown_redacted(settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": f"redis://app:{PASSWORD}@127.0.0.1:{free_port()}/0", **SAFE_LIMITS}
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}
    document = json.loads(get(STAFF, "?format=json", timeout=0.5).content)
    assert document["error"].startswith("ConnectionError: Error 111 connecting to 127.0.0.1:")
    assert PASSWORD not in document["error"]


def test_the_admin_entry_is_a_model_without_a_table_or_permissions() -> None:
    assert (Fleet._meta.managed, Fleet._meta.default_permissions, str(Fleet())) == (False, (), "fleet")
