from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
import redis
from django.conf import settings as django_settings
from django.test import override_settings

from django_redis_pool._registry import sync as registry
from django_redis_pool.apps import rebuild_on_setting_change
from tests.support.redis_server import INSTALL_HINT, RedisServer, redis_server_binary
from tests.support.topologies import RedisClusterTopology, SentinelTopology, missing_binaries

# Every Python example of README.md and docs/ runs as a test: see tests/docs_examples.py.
pytest_plugins = ["tests.docs_examples"]

# redis-py < 5.3 requires a command name; 5.3+ deprecates passing one.
_NEEDS_COMMAND_NAME = tuple(int(p) for p in redis.__version__.split(".")[:2]) < (5, 3)


def checkout(pool: Any) -> Any:
    """Take a connection out of a pool by hand, on every supported redis-py."""
    return pool.get_connection("PING") if _NEEDS_COMMAND_NAME else pool.get_connection()


# Tests that use one of these need a redis-server the suite starts: marked real_redis, so
# `-m "not real_redis"` runs what needs no server. Cluster and Sentinel topologies take seconds to
# start (and again after each failover): their tests are slow, as are those marked so by hand
# (a second or more each, measured with --durations), so `-m "not slow"` is the fast inner loop.
REAL_SERVER_FIXTURES = frozenset(
    {
        "redis_server",
        "real_redis",
        "redis_cluster",
        "redis_cluster_with_replicas",
        "sentinel_topology",
        "_sentinel_topologies",
    }
)
SLOW_FIXTURES = frozenset({"redis_cluster", "redis_cluster_with_replicas", "sentinel_topology"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & REAL_SERVER_FIXTURES:
            item.add_marker(pytest.mark.real_redis)
        if fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)


NO_SERVER = "redis-server or openssl is not on PATH"
WHAT_TO_DO = f"{INSTALL_HINT} (`make test` installs them itself when run as root where apt-get exists)."


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # -ra lists each skipped test; this says in one line how many needed the real server, and why.
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if NO_SERVER in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} real-server tests skipped: {NO_SERVER}; {WHAT_TO_DO}", yellow=True, bold=True
        )


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
        skip_or_fail(f"{NO_SERVER}, so the real-Redis tests cannot run: {WHAT_TO_DO}")
    with RedisServer() as server:
        yield server


@pytest.fixture
def real_redis(redis_server: RedisServer, settings: Any) -> RedisServer:
    """Point the 'default' alias at the real server, on an empty database."""
    redis_server.admin().flushall()
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, **SAFE_LIMITS}}
    return redis_server


class With:
    """An object with more fields than ``wrapped``: for fields other branches add to conf and registry."""

    def __init__(self, wrapped: Any, fields: dict[str, Any]) -> None:
        self._wrapped = wrapped
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


@pytest.fixture
def entry_fields(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``entry_fields("default", settings={"max_lifetime": 10}, limits={"retries": 3})``.

    The built entry's PoolSettings and Limits show those values instead of their own, for checks and
    the status command: values the setting cannot produce on its own (a retry policy without backoff).
    """

    def apply(
        alias: str = "default", settings: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
    ) -> None:
        entries = registry.entries()
        entry = entries[alias]
        replaced = copy.copy(entry)
        replaced.settings = With(entry.settings, settings or {})
        replaced.limits = With(entry.limits, limits or {})
        entries[alias] = replaced
        monkeypatch.setattr(registry, "entries", lambda: dict(entries))

    return apply


@pytest.fixture
def without_redis_pool_setting() -> Iterator[None]:
    """REDIS_POOL not set at all (pytest-django's ``del settings.X`` sends no setting_changed)."""
    override = override_settings()
    override.enable()
    del django_settings.REDIS_POOL
    rebuild_on_setting_change(setting="REDIS_POOL")
    try:
        yield
    finally:
        override.disable()
        rebuild_on_setting_change(setting="REDIS_POOL")


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
def redis_cluster_with_replicas() -> Iterator[RedisClusterTopology]:
    """Three cluster masters with one replica each (``master_ports``, ``replica_ports``), for the
    whole session. Tests must not move slots or fail nodes over on it."""
    require_binaries("redis-server", "redis-cli")
    with RedisClusterTopology(replicas=1) as cluster:
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
