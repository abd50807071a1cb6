from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis

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
