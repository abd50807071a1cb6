"""The django-health-check check, on django-health-check's own view."""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

import pytest
from health_check.views import HealthCheckView

from django_redis_pool import get_pool
from django_redis_pool.health_checks import RedisPool
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import APP_PASSWORD, RedisServer, free_port


@pytest.fixture
def two_aliases(real_redis: RedisServer, settings: Any) -> int:
    dead = free_port()
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, **SAFE_LIMITS},
        "down": {"URL": f"redis://app:{APP_PASSWORD}@127.0.0.1:{dead}/0", **SAFE_LIMITS},
    }
    return dead


def run_view(rf: Any, *checks: Any) -> Any:
    """django-health-check's own (async) view, as its docs register checks on it."""
    view = HealthCheckView.as_view(checks=checks)
    return asyncio.run(view(rf.get("/ht/", {"format": "json"})))


def test_one_alias_ok_through_django_health_checks_view(two_aliases: int, rf: Any) -> None:
    response = run_view(rf, ("django_redis_pool.health_checks.RedisPool", {"alias": "default"}))
    assert response.status_code == 200
    assert response.content == b'{"RedisPool(alias=\'default\')": "OK"}'


def test_a_down_alias_fails_with_a_redacted_reason(two_aliases: int, rf: Any) -> None:
    response = run_view(rf, "django_redis_pool.health_checks.RedisPool", (RedisPool, {"alias": "default"}))
    assert response.status_code == 500
    text = response.content.decode()
    assert APP_PASSWORD not in text
    body = json.loads(text)
    assert body["RedisPool(alias='default')"] == "OK"
    refused = f"Error 111 connecting to 127.0.0.1:{two_aliases}. Connection refused."
    assert (
        body["RedisPool(alias=None)"] == f"Unavailable: down: ConnectionError: REDIS_POOL['down']: {refused}"
    )


def test_the_check_reuses_the_pools_connection(real_redis: RedisServer) -> None:
    check = RedisPool()
    check.run()
    admin = real_redis.admin()
    before = admin.info("stats")["total_connections_received"]
    for _ in range(20):
        check.run()
    assert admin.info("stats")["total_connections_received"] == before
    assert get_pool().stats()["connections_created"] == 1


def test_the_budget_is_the_health_timeout(settings: Any) -> None:
    settings.REDIS_POOL_HEALTH_TIMEOUT = 0.5
    assert RedisPool().timeout == datetime.timedelta(seconds=0.5)
    assert RedisPool(alias="default").labels == {"check": "RedisPool", "alias": "default"}
