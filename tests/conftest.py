from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
import redis

from tests.redis_server import INSTALL_HINT, RedisServer, redis_server_binary
from tests.topologies import RedisClusterTopology, SentinelTopology, missing_binaries

# redis-py < 5.3 requires a command name; 5.3+ deprecates passing one.
_NEEDS_COMMAND_NAME = tuple(int(p) for p in redis.__version__.split(".")[:2]) < (5, 3)


def checkout(pool: Any) -> Any:
    """Take a connection out of a pool by hand, on every supported redis-py."""
    return pool.get_connection("PING") if _NEEDS_COMMAND_NAME else pool.get_connection()


SAFE_LIMITS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5}


def skip_or_fail(message: str) -> NoReturn:
    """Skip locally; under CI a missing prerequisite is a failure, not a skip."""
    if os.environ.get("CI"):
        pytest.fail(message + " Under CI this is a failure, not a skip.")
    pytest.skip(message)


def require_binaries(*names: str) -> None:
    missing = missing_binaries(*names)
    if missing:
        names_missing = " and ".join(missing)
        skip_or_fail(f"{names_missing} not on PATH, so the topology tests cannot run: {INSTALL_HINT}.")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, for the whole session."""
    if redis_server_binary() is None:
        skip_or_fail(
            f"redis-server or openssl is not on PATH, so the real-Redis tests cannot run: {INSTALL_HINT}."
        )
    with RedisServer() as server:
        yield server


@pytest.fixture
def real_redis(redis_server: RedisServer, settings: Any) -> RedisServer:
    """Point the 'default' alias at the real server, on an empty database."""
    redis_server.admin().flushall()
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, **SAFE_LIMITS}}
    return redis_server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterTopology]:
    """Three cluster masters sharing all 16384 slots, for the whole session.

    Tests may move slots (``migrate_slot``) but must not assume any slot layout; flush with
    ``redis_cluster.flushall()`` when a test needs empty nodes.
    """
    require_binaries("redis-server", "redis-cli")
    with RedisClusterTopology() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def _sentinel_topologies() -> Iterator[list[SentinelTopology]]:
    """Holds the one Sentinel topology that tests share while none fails it over."""
    require_binaries("redis-server")
    current: list[SentinelTopology] = []
    yield current
    for topology in current:
        topology.stop()


@pytest.fixture
def sentinel_topology(_sentinel_topologies: list[SentinelTopology]) -> Iterator[SentinelTopology]:
    """One master, one replica and three sentinels, ready to fail over, with an empty database.

    Shared between tests while it stays pristine; a test that fails it over (``failover()``,
    ``kill_master()``, or anything it flags with ``topology.disturbed = True``) gets it replaced by a
    fresh one for the next test (about 2 s).
    """
    if _sentinel_topologies and not (_sentinel_topologies[0].pristine() and _sentinel_topologies[0].ready()):
        _sentinel_topologies.pop().stop()
    if not _sentinel_topologies:
        _sentinel_topologies.append(SentinelTopology().start())
    topology = _sentinel_topologies[0]
    topology.admin(topology.master_port()).flushall()
    yield topology
    if not topology.pristine():
        _sentinel_topologies.clear()
        topology.stop()
