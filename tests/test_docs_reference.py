"""The README stays a short guide, and the reference pages cover everything the package has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_redis_pool import get_redis, get_stats
from tests.docs_examples import on_test_server
from tests.support.docs import DOCS, README, blocks
from tests.support.internals import check_ids
from tests.support.redis_server import RedisServer

PASSWORD = "docs-Pa55-not-leaked"


def test_readme_is_a_short_guide_with_a_table_of_contents() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    contents = re.findall(r"^- \[([^]]+)\]\(#", text, re.MULTILINE)
    assert contents == headings


def test_every_check_id_has_its_section() -> None:
    sections = re.findall(r"^### ([EW]\d{3})$", (DOCS / "checks.md").read_text(), re.MULTILINE)
    assert sorted(sections) == sorted(id.removeprefix("django_redis_pool.") for id in check_ids())


def test_every_stats_key_is_in_the_stats_table(real_redis: RedisServer) -> None:
    get_redis().ping()
    table = re.findall(r"^\| (`.+?`) \|", (DOCS / "pool.md").read_text(), re.MULTILINE)
    documented = {key for cell in table for key in re.findall(r"`(\w+)`", cell)}
    assert set(get_stats("default")) == documented


@pytest.fixture
def password_server() -> Iterator[RedisServer]:
    """A redis-server whose default user needs a password, as a production server does."""
    with RedisServer() as server:
        server.admin().execute_command("ACL", "SETUSER", "default", "resetpass", f">{PASSWORD}")
        yield server


def readme_settings() -> dict[str, Any]:
    """The README's Installation settings, run as the README shows them."""
    install = next(b for b in blocks(README) if b.lang == "python" and "REDIS_POOL =" in b.body)
    namespace: dict[str, Any] = {}
    exec(install.body, namespace)
    return namespace


@pytest.mark.real_redis
def test_readme_installation_gives_every_alias_the_password(
    password_server: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)
    settings.REDIS_POOL = on_test_server(readme_settings()["REDIS_POOL"], password_server.port)
    assert sorted(settings.REDIS_POOL) == ["default", "sessions"]
    assert [get_redis(alias).ping() for alias in settings.REDIS_POOL] == [True, True]
    # This server refuses a client without the password, so the one above mattered.
    anonymous = redis.Redis(port=password_server.port, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()


def test_readme_installation_runs_as_copied_without_a_password(
    redis_server: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    namespace = readme_settings()
    assert namespace["REDIS_OPTIONS"] == {"password": None}
    settings.REDIS_POOL = on_test_server(namespace["REDIS_POOL"], redis_server.port)
    assert [get_redis(alias).ping() for alias in settings.REDIS_POOL] == [True, True]
