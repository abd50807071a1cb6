"""The fleet page in a project with Django's admin (tests/support/fleet_site, run in subprocesses): linked
from the admin index, staff only, and no migration, check or migrate that touches Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

# Each starts a Django process or three (a second or more).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SITE_SETTINGS = "tests.support.fleet_site.settings"


def site_env(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLEET_INTERVAL", "MAX_CONNECTIONS")}
    env.update(DJANGO_SETTINGS_MODULE=SITE_SETTINGS, FLEET_SITE_DB=str(tmp_path / "site.sqlite3"))
    return {**env, "REDIS_URL": redis_url, **extra}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_in_site(env: dict[str, str], code: str) -> object:
    """``code`` run in a fresh interpreter with the site set up; what it prints, as JSON."""
    script = "import django, json\ndjango.setup()\n" + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def silent_port() -> Iterator[socket.socket]:
    """A listening port that records connection attempts (none, hopefully) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        yield listener


def test_check_makemigrations_and_migrate_open_no_connection_to_redis(
    tmp_path: Path, silent_port: socket.socket
) -> None:
    port = silent_port.getsockname()[1]
    env = site_env(tmp_path, f"redis://127.0.0.1:{port}/0", FLEET_INTERVAL="0.5")
    assert manage(env, "check").stdout == "System check identified no issues (0 silenced).\n"
    assert manage(env, "makemigrations", "--check", "--dry-run").stdout == "No changes detected\n"
    assert manage(env, "makemigrations", "django_redis_pool", "--check", "--dry-run").stdout == (
        "No changes detected in app 'django_redis_pool'\n"
    )
    migrated = manage(env, "migrate", "--noinput").stdout
    assert "Applying django_redis_pool.0001_initial... OK" in migrated
    with pytest.raises(BlockingIOError):  # nothing connected to the Redis port
        silent_port.accept()


ADMIN_VISITS = """
from django.contrib.auth.models import User
from django.test import Client

User.objects.create_user("staff", password="pw", is_staff=True)
User.objects.create_user("plain", password="pw")
PAGE = "/admin/django_redis_pool/fleet/"
visits = {}
for name in (None, "plain", "staff"):
    client = Client()
    if name:
        assert client.login(username=name, password="pw")
    index, page = client.get("/admin/"), client.get(PAGE)
    data = client.get(PAGE + "?format=json")
    visits[name or "anonymous"] = {
        "index_links_fleet": f'href="{PAGE}"' in index.text,
        "page": [page.status_code, page.get("Location")],
        "page_says": "Publishing is off" in page.text,
        "json": [data.status_code, data.json().get("error"), data.json().get("enabled")],
        "included": Client().get("/redis/fleet/").get("Location") if name is None else None,
    }
print(json.dumps(visits))
"""


def test_admin_index_links_staff_to_the_fleet_page_and_no_one_else(
    tmp_path: Path, silent_port: socket.socket
) -> None:
    env = site_env(tmp_path, f"redis://127.0.0.1:{silent_port.getsockname()[1]}/0")  # publishing off
    manage(env, "migrate", "--noinput")
    visits = run_in_site(env, ADMIN_VISITS)
    login = "/admin/login/?next=%2Fadmin%2Fdjango_redis_pool%2Ffleet%2F"
    assert visits == {
        "anonymous": {
            "index_links_fleet": False,
            "page": [302, login],
            "page_says": False,
            "json": [403, "Staff only.", None],
            "included": "/admin/login/?next=%2Fredis%2Ffleet%2F",
        },
        "plain": {
            "index_links_fleet": False,
            "page": [302, login],
            "page_says": False,
            "json": [403, "Staff only.", None],
            "included": None,
        },
        "staff": {
            "index_links_fleet": True,
            "page": [200, None],
            "page_says": True,
            "json": [200, None, False],
            "included": None,
        },
    }
    with pytest.raises(BlockingIOError):
        silent_port.accept()
