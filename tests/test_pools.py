"""The pool classes against the real redis-server: fairness, exhaustion, recycling, leaks, counts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from django_redis_pool import PoolExhaustedError, get_pool, get_redis, get_stats
from django_redis_pool._pool.thread_driver import BlockingPool, NonBlockingPool
from django_redis_pool._topology.entry import default_retry, describe_retry
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import RedisServer, free_port


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.001)


def pooled_connections_on_server(server: RedisServer, alias: str = "default") -> int:
    names = [c.get("name", "") for c in server.admin().client_list()]
    return sum(1 for name in names if name.startswith(f"django_redis_pool:{alias}:"))


def use(settings: Any, server: RedisServer, **config: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS, **config}}


# -- exhaustion --------------------------------------------------------------------------------


def test_every_exhaustion_under_contention_is_a_counted_pool_exhausted_error(
    redis_server: RedisServer, settings: Any
) -> None:
    # Issue 7, defect 1: callers woken by a release used to lose the connection to another thread
    # and escape as redis-py's bare "No connection available." counted as a connection error.
    use(settings, redis_server, MAX_CONNECTIONS=2, POOL_TIMEOUT=0.05)
    raised: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(15):
            try:
                with get_redis().pipeline() as pipe:
                    pipe.watch(f"k{n}")
                    time.sleep(0.005)
                    pipe.multi()
                    pipe.set(f"k{n}", i)
                    pipe.execute()
            except Exception as exc:
                with lock:
                    raised.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stats = get_stats("default")
    assert {type(exc) for exc in raised} == {PoolExhaustedError}
    assert stats["exhausted"] == len(raised) > 0
    assert stats["connection_errors"] == 0
    assert stats["in_use"] == 0
    assert stats["checkouts"] == 20 * 15 - len(raised)


@pytest.mark.parametrize("blocking", [True, False])
def test_pool_exhausted_error_is_redis_max_connections_error(
    redis_server: RedisServer, settings: Any, blocking: bool
) -> None:
    config: dict[str, Any] = {"MAX_CONNECTIONS": 1, "BLOCKING": blocking}
    if blocking:
        config["POOL_TIMEOUT"] = 0.01
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "SOCKET_TIMEOUT": 5, **config}}
    held = checkout(get_pool())
    with pytest.raises(redis.exceptions.MaxConnectionsError) as info:
        get_redis().get("k")
    assert type(info.value) is PoolExhaustedError
    get_pool().release(held)


def test_non_blocking_exhaustion_message(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "MAX_CONNECTIONS": 1, "BLOCKING": False}}
    held = checkout(get_pool())
    with pytest.raises(PoolExhaustedError) as info:
        get_redis().get("k")
    assert info.value.args[0] == (
        "Redis pool 'default' is exhausted: all MAX_CONNECTIONS=1 connections are in use and the pool "
        "does not wait ('BLOCKING': False). Raise MAX_CONNECTIONS, release connections sooner (close "
        "pipelines and pubsubs), or remove 'BLOCKING': False to wait up to POOL_TIMEOUT for one."
    )
    get_pool().release(held)


@pytest.mark.parametrize("blocking", [True, False])
def test_refused_checkouts_are_not_checkouts_on_either_kind(
    redis_server: RedisServer, settings: Any, blocking: bool
) -> None:
    config: dict[str, Any] = {"MAX_CONNECTIONS": 1, "BLOCKING": blocking}
    if blocking:
        config["POOL_TIMEOUT"] = 0.01
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "SOCKET_TIMEOUT": 5, **config}}
    held = checkout(get_pool())
    with pytest.raises(PoolExhaustedError):
        get_redis().get("k")
    get_pool().release(held)
    stats = get_stats("default")
    assert (stats["checkouts"], stats["exhausted"], stats["waits"]) == (1, 1, 1 if blocking else 0)


def test_a_huge_max_connections_builds_at_once_without_preallocating(settings: Any) -> None:
    # The old pool pre-filled a queue of MAX_CONNECTIONS placeholders: 10**100 never returned.
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "MAX_CONNECTIONS": 10**100, "POOL_TIMEOUT": 1}}
    pool = get_pool()
    assert pool.max_connections == 10**100
    assert (pool._available_connections, pool._in_use_connections) == ([], set())
    assert get_redis().set("k", "v") is True


# -- fairness ----------------------------------------------------------------------------------


def test_waiters_are_served_first_come_first_served(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1, POOL_TIMEOUT=10)
    pool = get_pool()
    held = checkout(pool)
    order: list[int] = []

    def waiter(n: int) -> None:
        connection = checkout(pool)
        order.append(n)
        pool.release(connection)

    threads = []
    for n in range(6):
        thread = threading.Thread(target=waiter, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=n: get_stats("default")["waiting"] == n + 1)  # type: ignore[misc]
    pool.release(held)
    for thread in threads:
        thread.join(timeout=10)
    assert order == [0, 1, 2, 3, 4, 5]
    assert get_stats("default")["waits"] == 6


def test_a_released_connection_goes_to_the_waiter_not_to_a_newcomer(
    redis_server: RedisServer, settings: Any
) -> None:
    # redis-py's BlockingConnectionPool lets the releasing thread take the connection straight
    # back; here the release hands it to the thread that waited, and the newcomer must queue.
    use(settings, redis_server, MAX_CONNECTIONS=1, POOL_TIMEOUT=0.2)
    pool = get_pool()
    held = checkout(pool)
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(checkout(pool)))
    thread.start()
    wait_until(lambda: get_stats("default")["waiting"] == 1)
    pool.release(held)
    with pytest.raises(PoolExhaustedError):
        checkout(pool)  # the same thread, at once: the waiter already owns the connection
    thread.join(timeout=5)
    assert got == [held]
    pool.release(held)


def test_a_timed_out_waiter_leaves_the_queue(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1, POOL_TIMEOUT=0.05)
    pool = get_pool()
    held = checkout(pool)
    with pytest.raises(PoolExhaustedError):
        checkout(pool)
    assert get_stats("default")["waiting"] == 0
    pool.release(held)
    assert (pool._available_connections, get_stats("default")["in_use"]) == ([held], 0)


def test_wait_percentiles_cover_recent_waits(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=1, POOL_TIMEOUT=0.02)
    held = checkout(get_pool())
    for _ in range(3):
        with pytest.raises(PoolExhaustedError):
            get_redis().get("k")
    get_pool().release(held)
    stats = get_stats("default")
    assert stats["waits"] == 3
    assert 20 <= stats["wait_ms_p50"] <= stats["wait_ms_p99"] == stats["wait_ms_window_max"]
    assert stats["wait_ms_window_max"] == stats["wait_ms_max"]


# -- counters ----------------------------------------------------------------------------------


def test_connections_created_counts_sockets_including_reconnects(
    redis_server: RedisServer, settings: Any
) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=10)
    client = get_redis()
    first = client.client_id()
    redis_server.admin().client_kill_filter(_id=first)
    assert client.client_id() != first  # reconnected, transparently
    stats = get_stats("default")
    assert (stats["connections_created"], stats["peak_in_use"], stats["idle"], stats["in_use"]) == (
        2,
        1,
        1,
        0,
    )


def test_nothing_opened_against_a_closed_port(settings: Any) -> None:
    port = free_port()
    settings.REDIS_POOL = {
        "default": {"URL": f"redis://127.0.0.1:{port}/0", **SAFE_LIMITS, "OPTIONS": {"retry": None}}
    }
    with pytest.raises(redis.ConnectionError):
        get_redis().get("k")
    stats = get_stats("default")
    assert (stats["connections_created"], stats["idle"], stats["in_use"], stats["checkouts"]) == (0, 0, 0, 0)
    assert stats["connection_errors"] == 1


def test_peak_in_use_is_a_true_peak(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=10)
    pool = get_pool()
    held = [checkout(pool) for _ in range(4)]
    for connection in held:
        pool.release(connection)
    assert get_stats("default")["peak_in_use"] == 4
    for _ in range(3):
        pool.release(checkout(pool))
    assert (get_stats("default")["peak_in_use"], get_stats("default")["connections_created"]) == (4, 4)


# -- retries -----------------------------------------------------------------------------------


def test_pooled_clients_retry_like_a_default_redis_client(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server)
    expected = describe_retry(redis.Redis().get_connection_kwargs().get("retry"))
    if expected == (0, None):  # redis-py 5: Redis() passes no policy, its connections retry 0 times
        expected = describe_retry(redis.Connection().retry)
    connection = checkout(get_pool())
    assert describe_retry(connection.retry) == expected
    get_pool().release(connection)
    assert describe_retry(default_retry()) == describe_retry(redis.Redis().get_retry())


def test_a_retry_in_options_wins(redis_server: RedisServer, settings: Any) -> None:
    from redis.backoff import ConstantBackoff
    from redis.retry import Retry

    use(settings, redis_server, OPTIONS={"retry": Retry(ConstantBackoff(0.01), 2)})
    connection = checkout(get_pool())
    assert describe_retry(connection.retry) == (2, "ConstantBackoff")
    get_pool().release(connection)


# -- recycling ---------------------------------------------------------------------------------


def test_max_lifetime_replaces_an_old_connection(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_LIFETIME=0.2)
    first = get_redis().client_id()
    assert get_redis().client_id() == first
    time.sleep(0.25)
    second = get_redis().client_id()
    assert second != first
    stats = get_stats("default")
    assert (stats["closed_for_age"], stats["connections_created"]) == (1, 2)
    wait_until(lambda: pooled_connections_on_server(redis_server) == 1)


def test_max_lifetime_is_jittered_down_by_up_to_ten_percent(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_LIFETIME=100, MAX_CONNECTIONS=30)
    pool = get_pool()
    before = time.monotonic()
    held = [checkout(pool) for _ in range(30)]
    after = time.monotonic()
    lifetimes = sorted(pool._policy.states[c].expires_at - before for c in held)
    for connection in held:
        pool.release(connection)
    assert lifetimes[0] >= 90
    assert lifetimes[-1] <= 100 + (after - before)
    assert len({round(x, 3) for x in lifetimes}) > 20  # spread, not one expiry for all


def test_max_idle_closes_connections_unused_that_long(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_IDLE=0.2, MAX_CONNECTIONS=10)
    pool = get_pool()
    held = [checkout(pool) for _ in range(3)]
    for connection in held:
        pool.release(connection)
    assert pooled_connections_on_server(redis_server) == 3
    time.sleep(0.25)
    # The process was idle: its next use closes all three and opens one.
    get_redis().get("k")
    stats = get_stats("default")
    assert (stats["closed_for_idle"], stats["idle"], stats["connections_created"]) == (3, 1, 4)
    wait_until(lambda: pooled_connections_on_server(redis_server) == 1)


def test_max_idle_keeps_the_connections_in_use(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_IDLE=0.1, MAX_CONNECTIONS=10)
    pool = get_pool()
    busy, spare = checkout(pool), checkout(pool)
    pool.release(spare)
    for _ in range(5):  # busy traffic on one connection while the spare ages
        time.sleep(0.03)
        pool.release(checkout(pool))
    stats = get_stats("default")
    assert stats["closed_for_idle"] == 0  # the spare was reused (LIFO), never idle 0.1 s
    time.sleep(0.15)
    pool.release(checkout(pool))
    assert get_stats("default")["closed_for_idle"] == 1
    assert get_stats("default")["in_use"] == 1
    pool.release(busy)


# -- leak warnings -----------------------------------------------------------------------------


def hold_a_connection_too_long(pool: Any) -> Any:  # a named frame the warning must show
    return checkout(pool)


def test_leak_warning_names_the_alias_the_duration_and_the_stack(
    redis_server: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use(settings, redis_server, LEAK_WARNING=0.1)
    pool = get_pool()
    leaked = hold_a_connection_too_long(pool)
    assert get_stats("default")["oldest_checkout_age_s"] is not None
    time.sleep(0.15)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        get_redis().get("k")  # another checkout notices the held connection
        get_redis().get("k")
        pool.release(leaked)  # warned once already: not again on release
    warnings = [r for r in caplog.records if r.name == "django_redis_pool"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("Redis pool 'default': a connection has been checked out for 0.")
    assert "longer than LEAK_WARNING=0.1s" in message
    assert "in hold_a_connection_too_long" in message
    assert "test_pools.py" in message
    stats = get_stats("default")
    assert (stats["leak_warnings"], stats["oldest_checkout_age_s"]) == (1, None)


def test_leak_warning_on_release_of_a_long_held_connection(
    redis_server: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use(settings, redis_server, LEAK_WARNING=0.05)
    pool = get_pool()
    held = checkout(pool)
    time.sleep(0.08)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        pool.release(held)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("Redis pool 'default': a connection was released after 0.")
    assert get_stats("default")["leak_warnings"] == 1


def test_no_leak_warning_for_short_checkouts(
    redis_server: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use(settings, redis_server, LEAK_WARNING=5)
    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        for _ in range(50):
            get_redis().get("k")
    assert caplog.records == []
    assert get_stats("default")["leak_warnings"] == 0


# -- the classes on their own, as redis-py users would build them -------------------------------


def test_pool_classes_are_drop_in_redis_py_pools(redis_server: RedisServer) -> None:
    blocking = BlockingPool.from_url(redis_server.url, max_connections=2, timeout=0.01)
    non_blocking = NonBlockingPool.from_url(redis_server.url, max_connections=2)
    for pool in (blocking, non_blocking):
        client = redis.Redis(connection_pool=pool)
        assert client.set("drop-in", "1") is True
        assert pool.stats()["checkouts"] == 1
        pool.disconnect()
    assert (blocking.alias, blocking.timeout, non_blocking.timeout) == ("default", 0.01, None)
