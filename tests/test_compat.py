"""Each read of redis-py's private state (django_redis_pool._pool.compat) on the installed redis-py: the
matrix runs these on the oldest (5.0) and the newest, so a rename in a release fails here, by name."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest
import redis
import redis.asyncio
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from django_redis_pool._pool import compat
from django_redis_pool._pool.thread_driver import BlockingPool
from tests.support.redis_server import RedisServer, free_port

REDIS_VERSION = tuple(int(part) for part in redis.__version__.split(".")[:2])


class Recorder:
    """An event dispatcher that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def dispatch(self, event: Any) -> None:
        self.events.append(event)

    async def dispatch_async(self, event: Any) -> None:
        self.events.append(event)


def test_only_redis_py_5_0_resets_its_lock_to_a_plain_one() -> None:
    assert compat.BASE_RESET_REPLACES_LOCK is (REDIS_VERSION < (5, 1))


def test_a_reset_pool_keeps_a_reentrant_lock_and_its_pid() -> None:
    pool = BlockingPool(max_connections=1)
    pool.pid = -1
    pool.reset()
    assert (pool.pid, type(pool._lock)) == (os.getpid(), type(threading.RLock()))


def test_checkpid_resets_a_pool_first_used_in_another_process() -> None:
    pool = BlockingPool(max_connections=1)
    policy = pool._policy
    pool.pid = -1  # as in a forked child
    compat.checkpid(pool)
    assert (pool.pid, pool._policy is policy) == (os.getpid(), False)


def test_is_open_follows_the_socket(redis_server: RedisServer) -> None:
    connection = redis.Connection(port=redis_server.port)
    assert compat.is_open(connection) is False
    connection.connect()
    assert compat.is_open(connection) is True
    connection.disconnect()
    assert compat.is_open(connection) is False


def test_is_open_async_follows_the_stream(redis_server: RedisServer) -> None:
    async def states() -> list[bool]:
        connection = redis.asyncio.Connection(port=redis_server.port)
        seen = [compat.is_open_async(connection)]
        await connection.connect()
        seen.append(compat.is_open_async(connection))
        await connection.disconnect()
        return [*seen, compat.is_open_async(connection)]

    assert asyncio.run(states()) == [False, True, False]


def test_on_connect_calls_back_on_every_connect(redis_server: RedisServer) -> None:
    connection = redis.Connection(port=redis_server.port)
    seen: list[Any] = []

    class Owner:  # redis-py keeps a weak reference to a bound method
        def callback(self, connected: Any) -> None:
            seen.append(connected)

    owner = Owner()
    assert compat.on_connect(connection, owner.callback) is True
    connection.connect()
    connection.disconnect()
    connection.connect()
    connection.disconnect()
    assert seen == [connection, connection]
    assert compat.on_connect(object(), owner.callback) is False


def test_should_reconnect_is_false_until_redis_py_marks_the_connection() -> None:
    connection = redis.Connection()
    assert compat.should_reconnect(connection) is False
    assert compat.HAS_SHOULD_RECONNECT is hasattr(connection, "mark_for_reconnect")
    if compat.HAS_SHOULD_RECONNECT:
        connection.mark_for_reconnect()
        assert compat.should_reconnect(connection) is True


def test_expects_quiet_unless_caching_or_maintenance_notifications_push_data() -> None:
    pool = redis.ConnectionPool()
    enabled = getattr(pool, "maint_notifications_enabled", lambda: False)()  # redis-py 8: on by default
    assert compat.expects_quiet(pool) is (not enabled)
    assert compat.expects_quiet(object()) is True  # a pool of redis-py 5: neither

    class Caching:
        cache = object()

    class Notified:
        def maint_notifications_enabled(self) -> bool:
            return True

    assert (compat.expects_quiet(Caching()), compat.expects_quiet(Notified())) == (False, False)


def test_set_read_timeout_reaches_the_socket_and_the_parser(redis_server: RedisServer) -> None:
    connection = redis.Connection(port=redis_server.port, socket_timeout=5)
    connection.connect()
    try:
        compat.set_read_timeout(connection, 0.25)
        parser: Any = connection._parser
        copies = [
            getattr(parser, "_socket_timeout", None),
            getattr(getattr(parser, "_buffer", None), "socket_timeout", None),
        ]
        assert (connection.socket_timeout, connection._sock.gettimeout()) == (0.25, 0.25)
        assert 0.25 in copies  # hiredis keeps it on the parser, the Python parsers on their buffer
    finally:
        connection.disconnect()


def test_connection_kwargs_are_the_pool_own() -> None:
    pool = redis.ConnectionPool(host="example.invalid", port=1234, db=3)
    kwargs = compat.connection_kwargs(pool)
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("example.invalid", 1234, 3)


def test_release_events_carry_the_connection() -> None:
    pool = redis.ConnectionPool()
    dispatcher = compat.release_dispatcher(pool)
    assert (dispatcher is not None) is compat.HAS_RELEASE_EVENTS is (REDIS_VERSION >= (5, 1))
    if not compat.HAS_RELEASE_EVENTS:
        return
    connection = redis.Connection()
    recorder = Recorder()
    compat.dispatch_released(recorder, connection)

    class AsyncPoolLike:
        _event_dispatcher = recorder

    asyncio.run(compat.dispatch_released_async(AsyncPoolLike(), connection))
    assert [event.connection for event in recorder.events] == [connection, connection]
    assert [type(event).__name__ for event in recorder.events] == [
        "AfterConnectionReleasedEvent",
        "AsyncAfterConnectionReleasedEvent",
    ]


def test_retry_count_and_backoff() -> None:
    backoff = ExponentialBackoff()
    retry = Retry(backoff, 3)
    assert (compat.retry_count(retry), compat.retry_backoff(retry)) == (3, backoff)


def test_retry_errors_are_the_ones_given_or_redis_pys_defaults() -> None:
    given = Retry(ExponentialBackoff(), 3, (redis.ConnectionError,))
    assert compat.retry_errors(given) == (redis.ConnectionError,)
    assert set(compat.retry_errors(Retry(ExponentialBackoff(), 3))) >= {
        redis.ConnectionError,
        redis.TimeoutError,
    }


def test_sentinel_master_address_is_read_and_set_where_redis_py_keeps_it() -> None:
    manager = Sentinel([("127.0.0.1", free_port())])
    pool = SentinelConnectionPool("mymaster", manager)
    assert compat.master_address(pool) is None
    compat.set_master_address(pool, ("127.0.0.1", 6390))
    assert compat.master_address(pool) == ("127.0.0.1", 6390)
    compat.route_master_lookups(pool)
    proxy = getattr(pool, "proxy", None)
    if proxy is not None:
        assert proxy.get_master_address == pool.get_master_address


def test_an_async_cluster_client_needs_initialising_before_its_first_command() -> None:
    client = AsyncRedisCluster(host="127.0.0.1", port=free_port())
    assert compat.cluster_needs_init(client) is True


def test_an_async_cluster_node_can_be_adopted_by_a_subclass_adding_methods_only() -> None:
    class Adopted(AsyncClusterNode):
        __slots__ = ()

    node = AsyncClusterNode("127.0.0.1", 7000, "primary")
    compat.adopt(node, Adopted)
    assert (type(node), node.name, node.server_type) == (Adopted, "127.0.0.1:7000", "primary")


def test_unfree_takes_a_connection_off_an_async_cluster_nodes_free_list() -> None:
    node = AsyncClusterNode("127.0.0.1", 7000)
    ours, theirs = node.connection_class(), node.connection_class()
    node._free.extend([theirs, ours])
    compat.unfree(node, ours)
    compat.unfree(node, ours)  # not there any more: nothing to do
    assert list(node._free) == [theirs]


def test_parse_client_list_is_redis_py_own_parser() -> None:
    reply = "id=3 addr=127.0.0.1:50000 name=django_redis_pool:default:h:1 age=2 idle=1\n"
    (row,) = compat.parse_client_list(reply)
    assert (row["id"], row["name"], row["idle"]) == ("3", "django_redis_pool:default:h:1", "1")


@pytest.mark.parametrize("events", [True, False])
def test_event_classes_are_found_exactly_when_redis_py_has_them(events: bool) -> None:
    classes = (compat.AfterConnectionReleasedEvent, compat.AsyncAfterConnectionReleasedEvent)
    if events:
        assert all(cls is not None for cls in classes) is compat.HAS_RELEASE_EVENTS
    else:
        assert all(cls is None for cls in classes) is (not compat.HAS_RELEASE_EVENTS)
