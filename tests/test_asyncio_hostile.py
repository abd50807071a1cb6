"""Hostile tests of the asyncio pool and registry: cancellation, hand-over, threads, setting changes.

Every test is driven by events and by the loop's FIFO scheduling, not by racing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
import redis.asyncio
from asgiref.sync import async_to_sync
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from django_redis_pool import PoolExhaustedError, get_async_redis, get_redis
from django_redis_pool._pool.async_driver import AsyncPool
from django_redis_pool._report import async_stats
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import RedisServer, free_port

PREFIX = "django_redis_pool"


def use(settings: Any, server: RedisServer, **config: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": server.url, **SAFE_LIMITS, **config}}


def pooled_on_server(server: RedisServer) -> int:
    return sum(1 for c in server.admin().client_list() if str(c.get("name", "")).startswith(f"{PREFIX}:"))


def new_pool(server: RedisServer, **kwargs: Any) -> AsyncPool:
    options: dict[str, Any] = {"max_connections": 1, "timeout": 0.3, "client_name_prefix": PREFIX}
    return AsyncPool.from_url(server.url, **{**options, **kwargs})  # type: ignore[no-any-return]


def accounting(pool: AsyncPool) -> tuple[int, int, int]:
    stats = pool.stats()
    return stats["in_use"], stats["idle"], stats["waiting"]


async def still_serves(pool: AsyncPool) -> bool:
    """Whether the pool can still hand out a connection within POOL_TIMEOUT."""
    try:
        connection = await pool.get_connection()
    except PoolExhaustedError:
        return False
    await pool.release(connection)
    return True


# -- defects: a cancellation (or an error) inside release() or checkout loses a slot -------------


@pytest.mark.parametrize("interruption", ["cancelled", "disconnect raises"])
def test_an_interrupted_release_of_an_expired_connection_keeps_its_slot(
    redis_server: RedisServer, interruption: str
) -> None:
    # Defect: release() took the connection out of the in-use set, then awaited disconnect() of
    # the expired (MAX_LIFETIME) connection before putting it back. A cancellation delivered at
    # that await (asyncio.timeout/wait_for around a command, a client that went away) or an error
    # from disconnect() (redis-py raises TimeoutError when closing takes longer than
    # socket_connect_timeout) left the connection nowhere: in_use 0, idle 0, but its slot still
    # counted, so with MAX_CONNECTIONS=1 every later checkout waited POOL_TIMEOUT and failed.
    async def work() -> tuple[tuple[int, int, int], bool]:
        pool = new_pool(redis_server, max_lifetime=60)
        connection = await pool.get_connection()
        pool._policy.states[connection].expires_at = 0.0  # its MAX_LIFETIME has passed
        if interruption == "disconnect raises":

            async def failing_disconnect(*args: Any, **kwargs: Any) -> None:
                await original(*args, **kwargs)
                raise RedisTimeoutError("Timed out closing connection after 5")

            original = connection.disconnect
            connection.disconnect = failing_disconnect
        release = asyncio.create_task(pool.release(connection))
        await asyncio.sleep(0)  # release() now awaits the socket's close
        if interruption == "cancelled":
            release.cancel()
        with pytest.raises((asyncio.CancelledError, RedisTimeoutError)):
            await release
        if interruption == "disconnect raises":
            connection.disconnect = original
        counts = accounting(pool)
        served = await still_serves(pool)
        await pool.disconnect()
        return counts, served

    counts, served = asyncio.run(work())
    assert served, "the pool lost its only slot"
    assert counts == (0, 1, 0) or counts == (0, 0, 0)


@pytest.mark.parametrize("recycling", ["MAX_LIFETIME", "MAX_IDLE"])
def test_a_checkout_cancelled_while_closing_a_stale_connection_returns_its_slot(
    redis_server: RedisServer, recycling: str
) -> None:
    # Defect: get_connection() checked the connection out, then awaited disconnect() of the stale
    # connections it had found (the expired one itself under MAX_LIFETIME, the reaped idle ones
    # under MAX_IDLE) outside the try that releases on failure. A cancellation at that await left
    # the connection checked out forever: in_use 1 with no owner, and the pool of one dead.
    async def work() -> tuple[tuple[int, int, int], bool, int]:
        pool = new_pool(redis_server, max_lifetime=60 if recycling == "MAX_LIFETIME" else None, max_idle=60)
        connection = await pool.get_connection()
        await pool.release(connection)
        if recycling == "MAX_LIFETIME":
            pool._policy.states[connection].expires_at = 0.0
        else:
            pool._policy.states[connection].released_at = 0.0  # idle for longer than MAX_IDLE
        checkout = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0)  # the checkout now awaits the stale socket's close
        checkout.cancel()
        with pytest.raises(asyncio.CancelledError):
            await checkout
        counts = accounting(pool)
        served = await still_serves(pool)
        await pool.disconnect()
        return counts, served, pooled_on_server(redis_server)

    counts, served, left_open = asyncio.run(work())
    assert counts[0] == 0, "a cancelled checkout left its connection checked out"
    assert served
    assert left_open == 0


def test_a_sentinel_pool_release_cancelled_while_closing_a_stale_master_keeps_its_slot(
    redis_server: RedisServer,
) -> None:
    # Defect (same shape): AsyncSentinelPool.release() awaited disconnect() of a connection to a
    # replaced master before the pool's own release, so a cancellation there left it in use.
    from redis.asyncio.sentinel import Sentinel

    from django_redis_pool._topology.sentinel_async import AsyncSentinelPool

    async def work() -> tuple[tuple[int, int, int], bool]:
        manager = Sentinel([("127.0.0.1", free_port())])  # type: ignore[no-untyped-call]
        pool = AsyncSentinelPool("mymaster", manager, max_connections=1, timeout=0.3)  # type: ignore[no-untyped-call]
        address = ("127.0.0.1", redis_server.port)

        async def master_address() -> tuple[str, int]:
            pool.master_address = address
            return address

        pool.get_master_address = master_address
        connection = await pool.get_connection()
        pool.master_address = ("127.0.0.1", 1)  # the sentinels promoted another master
        release = asyncio.create_task(pool.release(connection))
        await asyncio.sleep(0)
        release.cancel()
        with pytest.raises(asyncio.CancelledError):
            await release
        pool.master_address = address
        counts = accounting(pool)
        served = await still_serves(pool)
        await pool.disconnect()
        return counts, served

    counts, served = asyncio.run(work())
    assert counts[0] == 0
    assert served


# -- defect: a connection being handed over is nowhere ------------------------------------------


def test_a_connection_handed_to_a_waiter_stays_counted_and_closable(redis_server: RedisServer) -> None:
    # Defect: release() handed the connection to the oldest waiter's future and dropped it from
    # the in-use set; until that waiter's task ran, stats() showed in_use 0, idle 0, waiting 0 for
    # a pool with one live connection (get_stats and redis_pool_status read it from other threads
    # at any moment), and pool.disconnect() (aclose_pools at lifespan shutdown) did not close it.
    async def work() -> tuple[tuple[int, int, int], bool]:
        pool = new_pool(redis_server, timeout=5)
        held = await pool.get_connection()
        waiter = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0)  # queued
        await pool.release(held)  # handed over; the waiter has not run yet
        counts = accounting(pool)
        await pool.disconnect()
        open_after_disconnect = held.is_connected
        connection = await waiter
        await pool.release(connection)
        await pool.disconnect()
        return counts, open_after_disconnect

    counts, open_after_disconnect = asyncio.run(work())
    assert counts == (1, 0, 0)
    assert not open_after_disconnect


# -- defect: get_stats() from another thread while loops come and go ------------------------------


def test_async_stats_from_another_thread_while_a_new_loop_registers(
    redis_server: RedisServer, settings: Any
) -> None:
    # Defect: async_stats() (get_stats, redis_pool_status, from any thread) iterated the
    # WeakKeyDictionary of loops while another thread's first get_async_redis() inserted into it:
    # "RuntimeError: dictionary changed size during iteration" (seen in 1 of ~8000 get_stats calls
    # with 8 threads running async_to_sync). Here the stats thread is paused inside that iteration
    # (sys.settrace) while another thread starts a loop.
    use(settings, redis_server)
    loop = asyncio.new_event_loop()
    paused, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    async def first_use() -> None:
        await get_async_redis().ping()

    try:
        loop.run_until_complete(first_use())  # one loop registered, still alive

        def tracer(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
            if event == "call" and frame.f_code.co_name == "values" and "weakref" in frame.f_code.co_filename:
                # Resumed after its first value: let the other thread insert, then go on.
                tracer.calls += 1  # type: ignore[attr-defined]
                if tracer.calls == 2:  # type: ignore[attr-defined]
                    paused.set()
                    resume.wait(5)
            return None

        tracer.calls = 0  # type: ignore[attr-defined]

        def read_stats() -> None:
            sys.settrace(tracer)
            try:
                async_stats("default")
            except BaseException as exc:
                errors.append(exc)
            finally:
                sys.settrace(None)
                paused.set()

        reader = threading.Thread(target=read_stats)
        reader.start()
        assert paused.wait(5)
        other = threading.Thread(target=lambda: asyncio.run(first_use()))
        other.start()
        other.join(0.5)  # with a lock around the iteration it waits for the reader: fine
        resume.set()
        reader.join(5)
        other.join(5)
    finally:
        resume.set()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    assert errors == []


# -- defect: a setting change while a loop runs ------------------------------------------------


def test_a_setting_change_while_a_loop_runs_leaks_no_connection(
    redis_server: RedisServer, settings: Any
) -> None:
    # Defect: on a REDIS_POOL change, the next get_async_redis() on a running loop fired
    # `loop.create_task(old_state.aclose())`: it closed the old pools, in-use connections
    # included, under commands still in flight, and forgot them. A request still holding the old
    # client (obtained before the change) then reconnected on a pool nobody would close: the
    # connection stayed open after the loop was gone (server CLIENT LIST above its baseline,
    # "ResourceWarning: unclosed Connection" when collected).
    use(settings, redis_server, MAX_CONNECTIONS=2)
    redis_server.admin().delete("setting-change")
    before = pooled_on_server(redis_server)
    gate = asyncio.Event

    async def work() -> Any:
        old = get_async_redis()
        await old.ping()
        proceed = gate()

        async def request_in_flight() -> Any:
            await proceed.wait()
            return await old.incr("setting-change")

        request = asyncio.create_task(request_in_flight())
        await asyncio.sleep(0)
        use(settings, redis_server, MAX_CONNECTIONS=3)  # setting_changed: a new generation
        await get_async_redis().ping()
        await asyncio.sleep(0)
        proceed.set()
        await request
        return old.connection_pool

    loop = asyncio.new_event_loop()
    try:
        old_pool = loop.run_until_complete(work())
        loop.run_until_complete(loop.shutdown_asyncgens())  # what asyncio.run does at its end
        open_after = pooled_on_server(redis_server)
        leaked = [
            c for c in [*old_pool._available_connections, *old_pool._in_use_connections] if c.is_connected
        ]
        assert open_after == before
        assert leaked == []
        assert get_redis().get("setting-change") == b"1"
    finally:
        loop.run_until_complete(old_pool.disconnect())  # whatever leaked, not into other tests
        loop.close()


# -- what held up (regression tests) ------------------------------------------------------------


def test_a_waiter_cancelled_just_after_a_hand_over_passes_the_connection_on(
    redis_server: RedisServer,
) -> None:
    async def work() -> tuple[str, tuple[int, int, int], bool]:
        pool = new_pool(redis_server, timeout=5)
        held = await pool.get_connection()
        first = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0)
        second = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0)
        await pool.release(held)  # handed to `first`, whose task has not run yet
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        got = await second
        same = "same" if got is held else "other"
        await pool.release(got)
        counts = accounting(pool)
        served = await still_serves(pool)
        await pool.disconnect()
        return same, counts, served

    assert asyncio.run(work()) == ("same", (0, 1, 0), True)


@pytest.mark.parametrize("first", ["timer", "release"])
def test_pool_timeout_firing_in_the_same_turn_as_a_hand_over(redis_server: RedisServer, first: str) -> None:
    async def work() -> tuple[str, tuple[int, int, int]]:
        pool = new_pool(redis_server, timeout=5)
        held = await pool.get_connection()
        waiter = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0)
        (future,) = pool._policy.waiters
        if first == "timer":
            pool._expire(future, 0.0)  # what the POOL_TIMEOUT timer does
            await pool.release(held)
        else:
            await pool.release(held)
            pool._expire(future, 0.0)
        try:
            connection = await waiter
            outcome = "connection"
            await pool.release(connection)
        except PoolExhaustedError:
            outcome = "exhausted"
        counts = accounting(pool)
        await pool.disconnect()
        return outcome, counts

    expected = "exhausted" if first == "timer" else "connection"
    assert asyncio.run(work()) == (expected, (0, 1, 0))


def test_a_closed_port_fails_every_queued_waiter_quickly() -> None:
    async def work() -> tuple[float, set[str], tuple[int, int, int]]:
        pool = AsyncPool.from_url(
            f"redis://127.0.0.1:{free_port()}/0", max_connections=2, timeout=1, socket_connect_timeout=1
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        started = time.monotonic()
        results = await asyncio.gather(*(client.get("k") for _ in range(40)), return_exceptions=True)
        elapsed = time.monotonic() - started
        counts = accounting(pool)
        await pool.disconnect()
        return elapsed, {type(r).__name__ for r in results}, counts

    elapsed, kinds, counts = asyncio.run(work())
    assert kinds == {RedisConnectionError.__name__}
    assert elapsed < 1.0  # no waiter sat out POOL_TIMEOUT
    assert counts == (0, 0, 0)


@pytest.mark.slow
def test_256_tasks_on_8_connections_exact_counters_and_fairness(redis_server: RedisServer) -> None:
    async def work() -> tuple[list[int], dict[str, Any]]:
        pool = new_pool(redis_server, max_connections=8, timeout=10)
        client = redis.asyncio.Redis(connection_pool=pool)
        counts = [0] * 256
        deadline = time.monotonic() + 1.0

        async def task(n: int) -> None:
            while time.monotonic() < deadline:
                await client.get("fair")
                counts[n] += 1

        await asyncio.gather(*(task(n) for n in range(256)))
        stats = pool.stats()
        await pool.disconnect()
        return counts, stats

    counts, stats = asyncio.run(work())
    mean = sum(counts) / len(counts)
    assert stats["checkouts"] == sum(counts)
    assert (stats["in_use"], stats["waiting"]) == (0, 0)
    assert (stats["peak_in_use"], stats["connections_created"]) == (8, 8)
    assert min(counts) >= 0.5 * mean, (min(counts), mean, max(counts))


def test_watch_transactions_under_contention_with_max_lifetime(
    redis_server: RedisServer, settings: Any
) -> None:
    # MAX_LIFETIME expires connections while WATCHed pipelines hold theirs: none is closed under its
    # owner (the sync pool once did that after a hand-over), so no increment is lost or doubled.
    use(settings, redis_server, MAX_CONNECTIONS=4, MAX_LIFETIME=0.01)
    redis_server.admin().delete("watched")

    async def work() -> dict[str, Any]:
        client = get_async_redis()

        async def increment() -> None:
            for _ in range(50):
                async with client.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch("watched")
                        value = int(await pipe.get("watched") or 0)
                        await asyncio.sleep(0)  # let others run between WATCH and EXEC
                        pipe.multi()
                        pipe.set("watched", value + 1)
                        await pipe.execute()
                        return
                    except redis.WatchError:
                        continue
            raise AssertionError("never committed")

        await asyncio.gather(*(increment() for _ in range(32)))
        return client.connection_pool.stats()

    stats = asyncio.run(work())
    assert get_redis().get("watched") == b"32"
    assert (stats["in_use"], stats["waiting"]) == (0, 0)


def test_pubsub_on_the_async_client_returns_its_connection(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=2)

    async def work() -> tuple[Any, int, tuple[int, int, int]]:
        client = get_async_redis()
        pubsub = client.pubsub()
        await pubsub.subscribe("hostile")
        await client.publish("hostile", "hi")
        message = None
        for _ in range(20):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message:
                break
        during = client.connection_pool.stats()["in_use"]
        await pubsub.aclose()
        return message and message["data"], during, accounting(client.connection_pool)

    assert asyncio.run(work()) == (b"hi", 1, (0, 1, 0))


def test_async_to_sync_from_eight_threads_leaks_nothing(redis_server: RedisServer, settings: Any) -> None:
    use(settings, redis_server, MAX_CONNECTIONS=2)
    admin = redis_server.admin()
    admin.delete(*(f"threads:{n}" for n in range(8)))
    before = pooled_on_server(redis_server)
    errors: list[BaseException] = []

    async def work(n: int) -> None:
        client = get_async_redis()
        await asyncio.gather(*(client.incr(f"threads:{n}") for _ in range(10)))

    def run(n: int) -> None:
        try:
            for _ in range(10):
                async_to_sync(work)(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert [int(admin.get(f"threads:{n}") or 0) for n in range(8)] == [100] * 8
    assert pooled_on_server(redis_server) == before


def test_release_twice_or_into_another_pool_changes_nothing(redis_server: RedisServer) -> None:
    async def work() -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
        pool, other = new_pool(redis_server, max_connections=2), new_pool(redis_server, max_connections=2)
        connection = await pool.get_connection()
        await other.release(connection)
        await pool.release(connection)
        await pool.release(connection)
        counts = accounting(pool), accounting(other)
        copies = pool._available_connections.count(connection)
        await pool.disconnect()
        await other.disconnect()
        return *counts, copies

    assert asyncio.run(work()) == ((0, 1, 0), (0, 0, 0), 1)


def test_max_idle_reaps_and_leak_scan_warns_on_a_later_checkout(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def work() -> tuple[int, int, int]:
        pool = new_pool(redis_server, max_connections=3, max_idle=60, leak_warning=30)
        a, b = await pool.get_connection(), await pool.get_connection()
        await pool.release(a)
        states = pool._policy.states
        states[a].released_at = 0.0
        states[b].checked_out_at -= 60  # type: ignore[operator]  # held for a minute
        pool._policy.next_leak_scan = 0.0  # scans are at most one a second: this one is due
        c = await pool.get_connection()  # reaps `a`, scans for leaks: `b`
        open_a = a.is_connected
        await pool.release(c)
        await pool.release(b)
        stats = pool.stats()
        await pool.disconnect()
        return stats["closed_for_idle"], stats["leak_warnings"], int(open_a)

    with caplog.at_level(logging.WARNING, logger="django_redis_pool"):
        assert asyncio.run(work()) == (1, 1, 0)
    assert "has been checked out for 60." in caplog.records[0].getMessage()
