from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from django_redis_pool import registry
from tests.redis_server import INSTALL_HINT, RedisServer, redis_server_binary

# redis-py < 5.3 requires a command name; 5.3+ deprecates passing one.
_NEEDS_COMMAND_NAME = tuple(int(p) for p in redis.__version__.split(".")[:2]) < (5, 3)


def checkout(pool: Any) -> Any:
    """Take a connection out of a pool by hand, on every supported redis-py."""
    return pool.get_connection("PING") if _NEEDS_COMMAND_NAME else pool.get_connection()


SAFE_LIMITS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, for the whole session."""
    if redis_server_binary() is None:
        message = (
            f"redis-server or openssl is not on PATH, so the real-Redis tests cannot run: {INSTALL_HINT}."
        )
        if os.environ.get("CI"):
            pytest.fail(message + " Under CI this is a failure, not a skip.")
        pytest.skip(message)
    with RedisServer() as server:
        yield server


@pytest.fixture
def real_redis(redis_server: RedisServer, settings: Any) -> RedisServer:
    """Point the 'default' alias at the real server, on an empty database."""
    redis_server.admin().flushall()
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, **SAFE_LIMITS}}
    return redis_server


class SettingsWith:
    """An alias's PoolSettings with more fields, for fields another branch adds to conf."""

    def __init__(self, settings: Any, fields: dict[str, Any]) -> None:
        self._settings = settings
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._settings, name)


@pytest.fixture
def pool_settings_fields(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``pool_settings_fields("default", max_lifetime=10)``: the built entry's settings gain those fields.

    Checks and the status command read ``max_lifetime``, ``max_idle`` and ``leak_warning`` with
    getattr, so they work with a PoolSettings that has them and with one that does not yet.
    """

    def apply(alias: str = "default", **fields: Any) -> None:
        entries = registry.entries()
        entry = entries[alias]
        entries[alias] = dataclasses.replace(entry, settings=SettingsWith(entry.settings, fields))
        monkeypatch.setattr(registry, "entries", lambda: dict(entries))

    return apply
