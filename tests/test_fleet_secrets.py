"""No password of the fleet's alias in anything the fleet view writes: the snapshots, the status
command's text and JSON, the page's JSON, a scrape, the log, when Redis answers and when it does not."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import CommandError, call_command
from prometheus_client import CollectorRegistry, generate_latest

from django_redis_pool import get_redis, metrics
from django_redis_pool._conf.fleet import get_fleet_settings
from django_redis_pool._fleet import publisher
from django_redis_pool.fleet_page import fleet_document
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import APP_PASSWORD, RedisServer, free_port
from tests.support.topologies import SentinelTopology
from tests.test_sentinel import ha_settings

DOWN_PASSWORD = "down-Secret-5150"
SENTINEL_PASSWORD = "sent-Secret-8008"
DATA_PASSWORD = "data-Secret-7007"


def everything_written(caplog: pytest.LogCaptureFixture, server_up: bool = True) -> str:
    """The status command (text, JSON, advice), the page's JSON, a scrape and the log, as one text."""
    outputs = []
    for args in ((), ("--format", "json", "--advise")):
        out, err = StringIO(), StringIO()
        failed = ""
        try:
            call_command("redis_pool_status", *args, stdout=out, stderr=err)
        except CommandError as exc:
            failed = str(exc)
        assert bool(failed) is not server_up, failed
        outputs += [failed, out.getvalue(), err.getvalue()]
    outputs.append(json.dumps(fleet_document(2.0)))
    registry = CollectorRegistry()
    metrics.register(registry, timeout=2.0)
    outputs.append(generate_latest(registry).decode())
    outputs.append(caplog.text)
    return "\n".join(outputs)


def published(server_admin: Callable[[], Any]) -> str:
    """Every snapshot in the fleet, raw, once this process has published."""
    fleet = get_fleet_settings()
    assert fleet is not None
    running = publisher.current()
    assert running is not None
    deadline = time.monotonic() + 10
    while running.published < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.published >= 1
    client = server_admin()
    keys = client.zrange("{" + fleet.namespace + ":fleet}:processes", 0, -1)
    return "\n".join(str(value) for value in client.mget(keys))


@pytest.mark.parametrize(
    "place",
    ["url", "options"],
)
def test_no_password_anywhere_while_publishing(
    place: str, real_redis: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if place == "url":
        alias = {"URL": real_redis.url_for("app", APP_PASSWORD)}
    else:
        alias = {"URL": real_redis.url, "OPTIONS": {"username": "app", "password": APP_PASSWORD}}
    settings.REDIS_POOL = {"default": {**alias, **SAFE_LIMITS}}
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 0.2}
    try:
        get_redis().ping()
        raw = published(real_redis.admin)
        assert '"pid"' in raw
        text = everything_written(caplog)
    finally:
        publisher.stop()
    assert '"fleet_error": null' in text
    assert APP_PASSWORD not in raw + text


def test_no_password_anywhere_when_the_fleet_alias_is_down(
    real_redis: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.REDIS_POOL = {
        "default": {"URL": real_redis.url, **SAFE_LIMITS},
        "fleet": {"URL": f"redis://app:{DOWN_PASSWORD}@127.0.0.1:{free_port()}/0", **SAFE_LIMITS},
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "fleet", "INTERVAL": 0.2}
    try:
        get_redis().ping()
        running = publisher.current()
        assert running is not None
        deadline = time.monotonic() + 10
        while running.failures < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running.failures >= 1
        text = everything_written(caplog, server_up=False)
    finally:
        publisher.stop()
    assert "cannot publish this process's pool snapshot to 'fleet'" in text
    assert "cannot read the fleet from alias 'fleet'" in text
    assert DOWN_PASSWORD not in text


def test_no_sentinel_password_anywhere_while_publishing(
    sentinel_topology: SentinelTopology, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings.REDIS_POOL = {
        "default": ha_settings(
            sentinel_topology,
            URL=f"redis://:{DATA_PASSWORD}@/0",
            SENTINEL_OPTIONS={"password": SENTINEL_PASSWORD},
        )
    }
    settings.REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 0.2}
    try:
        if redis.__version__.startswith("5.0."):
            # redis-py 5.0 fails its AUTH to sentinels that have no password (8.x goes on without):
            # nothing is published, and the error and the log must still hold no secret.
            with pytest.raises(redis.exceptions.ConnectionError) as info:
                get_redis().ping()
            failure = str(info.value) + caplog.text
            assert DATA_PASSWORD not in failure
            assert SENTINEL_PASSWORD not in failure
            return
        get_redis().ping()
        raw = published(lambda: sentinel_topology.admin(sentinel_topology.master_port()))
        text = everything_written(caplog)
    finally:
        publisher.stop()
    assert '"fleet_error": null' in text
    assert DATA_PASSWORD not in raw + text
    assert SENTINEL_PASSWORD not in raw + text
