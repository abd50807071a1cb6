"""The fleet page in a real browser (Debian's chromium, driven by Playwright) on a real server and a real
redis-server: a worker exhausts its pool of one connection, a staff member logs in through the admin, and
the page shows that worker's exhaustion and draws its charts as it refreshes.

``DOCS_SAMPLES=write`` also saves the page as docs/fleet-page.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.support.redis_server import APP_PASSWORD, RedisServer, free_port
from tests.test_fleet_admin import ROOT, manage, run_in_site, site_env

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extra not installed
    sync_playwright = None

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "docs" / "fleet-page.png"
INTERVAL = "0.5"  # seconds between a worker's snapshots


@pytest.fixture
def browser() -> Iterator[Any]:
    if sync_playwright is None:
        skip_or_fail("Playwright is not installed (pip install -e '.[dev]'), so the browser test cannot run.")
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if chromium is None:
        skip_or_fail("chromium is not on PATH: apt-get install chromium (never `playwright install`).")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def wait_for_port(port: int, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not listen on {port} within 30 s: {log.read_text()[-3000:]}")


@pytest.fixture
def site(tmp_path: Path, redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    """The fleet site served by runserver on the real server, publishing, with a staff member."""
    redis_server.admin().flushall()
    env = site_env(tmp_path, redis_server.url_for("app", APP_PASSWORD), FLEET_INTERVAL=INTERVAL)
    manage(env, "migrate", "--noinput")
    run_in_site(
        env,
        """
        from django.contrib.auth.models import User
        User.objects.create_user("staff", password="staff-pw", is_staff=True)
        print("null")
        """,
    )
    port = free_port()
    log = tmp_path / "runserver.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        wait_for_port(port, server, log)
        yield {"url": f"http://127.0.0.1:{port}", "env": env}
    finally:
        server.terminate()
        server.wait(timeout=10)


def start_worker(env: dict[str, str], role: str, **extra: str) -> tuple[subprocess.Popen[str], int]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fleet_site.worker", role],
        cwd=ROOT, env={**env, **extra}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert line.strip().isdigit(), f"the {role} worker failed (exit {worker.poll()})"
    return worker, int(line)


@pytest.fixture
def workers(site: dict[str, Any]) -> Iterator[dict[str, int]]:
    started = [
        start_worker(site["env"], "exhaust", MAX_CONNECTIONS="1", POOL_TIMEOUT="0.2"),
        start_worker(site["env"], "busy", MAX_CONNECTIONS="3"),
    ]
    try:
        yield {"exhausted": started[0][1], "busy": started[1][1]}
    finally:
        for process, _ in started:
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.close()
            process.wait(timeout=10)
            process.stdout.close()


ROW_OF = """([pid, column]) => {
    const section = document.querySelector('section[data-alias="default"]');
    const columns = [...section.querySelectorAll("thead th")].map((th) => th.textContent);
    const row = [...section.querySelectorAll("tbody tr")].find((tr) => tr.cells[1].textContent === pid);
    return row ? row.cells[columns.indexOf(column)].textContent : null;
}"""
POINTS = "(metric) => Number(document.querySelector(`svg[data-metric='${metric}']`).dataset.points || 0)"


def test_staff_sees_the_exhausted_worker_and_the_charts_move(
    browser: Any, site: dict[str, Any], workers: dict[str, int]
) -> None:
    page = browser.new_page(viewport={"width": 1640, "height": 520})
    page.goto(site["url"] + "/admin/login/?next=/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pw")
    page.click("input[type=submit]")
    page.wait_for_url(site["url"] + "/admin/")
    page.get_by_role("link", name="Fleet").click()
    page.wait_for_url(site["url"] + "/admin/django_redis_pool/fleet/")
    page.goto(site["url"] + "/admin/django_redis_pool/fleet/?refresh=1")

    exhausted_pid = str(workers["exhausted"])
    page.wait_for_function(
        f"(args) => Number(({ROW_OF})(args)) >= 1", arg=[exhausted_pid, "exhausted"], timeout=15_000
    )
    assert page.evaluate(ROW_OF, [exhausted_pid, "exhausted"]) == "1"
    assert page.evaluate(ROW_OF, [exhausted_pid, "in_use"]) == "1"
    assert page.evaluate(ROW_OF, [exhausted_pid, "max_connections"]) == "1"
    assert page.evaluate(ROW_OF, [str(workers["busy"]), "max_connections"]) == "3"
    # Points are added at each refresh (one a second here): wait for a few.
    page.wait_for_function(f"(metric) => ({POINTS})(metric) >= 4", arg="in_use", timeout=15_000)
    polyline = page.get_attribute("svg[data-metric='in_use'] polyline", "points")
    assert polyline is not None
    assert len(polyline.split()) >= 4
    if os.environ.get("DOCS_SAMPLES") == "write":
        page.wait_for_function(f"(metric) => ({POINTS})(metric) >= 20", arg="in_use", timeout=40_000)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    html = page.content()
    data = page.request.get(site["url"] + "/admin/django_redis_pool/fleet/?format=json").text()
    for body in (html, data):
        assert (APP_PASSWORD in body, "redis://" in body) == (False, False)


def test_the_page_sends_a_stranger_to_the_admin_login(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page()
    page.goto(site["url"] + "/redis/fleet/")
    assert page.url == site["url"] + "/admin/login/?next=%2Fredis%2Ffleet%2F"
    response = page.request.get(site["url"] + "/redis/fleet/?format=json")
    assert (response.status, response.json()) == (403, {"error": "Staff only."})
