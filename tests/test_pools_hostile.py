"""Hostile tests of the pool classes: races, interruptions and failure paths.

Tests marked ``DEFECT`` failed on the code they were written against (see the commit that added
this file); the others check guarantees that held up and guard them. No test races sleeps against
each other: interleavings are forced with events, hooks and wait_until loops.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from django_redis_pool import PoolExhaustedError
from django_redis_pool._pool import compat
from django_redis_pool._pool import thread_driver as pools
from django_redis_pool._pool.thread_driver import BlockingPool, NonBlockingPool
from tests.conftest import checkout
from tests.support.redis_server import RedisServer, free_port
from tests.test_pools import wait_until

_pools: list[Any] = []


@pytest.fixture(autouse=True)
def _disconnect_pools() -> Iterator[None]:
    yield
    while _pools:  # no open socket left for the GC to find (ResourceWarning) in a later test
        _pools.pop().disconnect()


def make_pool(server: RedisServer, **kwargs: Any) -> BlockingPool:
    kwargs.setdefault("max_connections", 1)
    kwargs.setdefault("timeout", 5)
    pool = BlockingPool.from_url(server.url, socket_timeout=5, socket_connect_timeout=5, **kwargs)
    _pools.append(pool)
    return pool


def accounted(pool: Any) -> bool:
    """Every slot the pool counts is either in use or idle: nothing lost, nothing twice."""
    with pool._lock:
        policy = pool._policy
        in_use, idle = policy.in_use, policy.idle
        counted = len(in_use) + len(idle) == pool._created_connections == policy.slots
        return counted and policy.reserved == 0 and not set(idle) & in_use


def start_waiter(pool: Any, target: Any) -> threading.Thread:
    """Start ``target`` in a thread and return once it queues in ``pool``."""
    before = pool.stats()["waiting"]
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    wait_until(lambda: pool.stats()["waiting"] == before + 1)
    return thread


# -- defects -----------------------------------------------------------------------------------


def test_stats_while_a_connection_is_released_with_leak_warning_on(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DEFECT (before the policy): stats() read each in-use connection's checkout record twice
    # after leaving the pool lock; a release in between cleared it and stats() raised TypeError.
    # Now stats() reads the records under the pool lock: a release is forced into the middle of
    # the snapshot (from another thread, which must wait for the lock) and changes nothing seen.
    pool = make_pool(redis_server, max_connections=2, leak_warning=60)
    held = checkout(pool)
    real_snapshot = pool._policy.snapshot
    releaser = threading.Thread(target=lambda: pool.release(held))

    def snapshot_with_a_release(now: float) -> Any:
        releaser.start()
        releaser.join(0.2)  # blocked on the pool lock until the snapshot is taken
        return real_snapshot(now)

    monkeypatch.setattr(pool._policy, "snapshot", snapshot_with_a_release)
    stats = pool.stats()
    monkeypatch.undo()
    releaser.join(5)
    assert (stats["in_use"], stats["oldest_checkout_age_s"] is not None) == (1, True)
    assert pool.stats()["in_use"] == 0


def test_a_connection_expired_at_release_is_not_closed_under_the_waiter_it_went_to(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DEFECT: release() handed a connection past MAX_LIFETIME to the next waiter (or put it on
    # the idle stack) and closed it only after unlocking, when it already had a new owner. Here
    # the owner WATCHes a key on it; the late close drops the socket, redis-py reconnects
    # silently for MULTI/EXEC, the WATCH is gone and a transaction that must fail commits over
    # a concurrent write (a lost update). closed_for_age also counted the one expiry twice.
    admin = redis_server.admin()
    admin.set("hostile:watched", "v0")
    pool = make_pool(redis_server, max_lifetime=3600)
    client = redis.Redis(connection_pool=pool)
    held = checkout(pool)
    pool._policy.states[held].expires_at = 0.0  # past its lifetime, without sleeping
    main = threading.current_thread()
    watching, closed = threading.Event(), threading.Event()
    real_after_lock = pools.finish

    def close_late(name: str, chores: list[Any]) -> None:
        if threading.current_thread() is main and held in chores:
            watching.wait(5)  # the releasing thread is slower than the waiter it woke
            real_after_lock(name, chores)
            closed.set()
        else:
            real_after_lock(name, chores)

    monkeypatch.setattr(pools, "finish", close_late)
    outcome: list[Any] = []

    def transaction() -> None:
        with client.pipeline() as pipe:
            pipe.watch("hostile:watched")
            watching.set()
            closed.wait(5)
            admin.set("hostile:watched", "changed by someone else")
            pipe.multi()
            pipe.set("hostile:watched", "mine")
            try:
                outcome.append(pipe.execute())
            except redis.WatchError as exc:
                outcome.append(exc)

    waiter = start_waiter(pool, transaction)
    pool.release(held)
    waiter.join(10)
    assert closed.is_set()
    assert len(outcome) == 1, outcome
    assert isinstance(outcome[0], redis.WatchError), outcome
    assert admin.get("hostile:watched") == "changed by someone else"
    assert pool.stats()["closed_for_age"] == 1
    assert accounted(pool)


def test_an_expired_connection_released_to_the_idle_stack_is_not_closed_under_its_next_user(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DEFECT: the same late close without waiters: the next checkout pops the expired connection
    # off the idle stack before the releasing thread closes it.
    pool = make_pool(redis_server, max_connections=2, max_lifetime=3600)
    held = checkout(pool)
    pool._policy.states[held].expires_at = 0.0
    real_after_lock = pools.finish
    taken: list[Any] = []
    fired = threading.Event()

    def close_late(name: str, chores: list[Any]) -> None:
        if held in chores and not fired.is_set():
            fired.set()
            taken.append(checkout(pool))  # another thread takes a connection meanwhile
        real_after_lock(name, chores)

    monkeypatch.setattr(pools, "finish", close_late)
    pool.release(held)
    monkeypatch.undo()
    (user,) = taken
    assert compat.is_open(user), "a checked-out connection was closed by someone else's release"
    assert pool.stats()["closed_for_age"] == 1
    pool.release(user)
    assert accounted(pool)


def test_re_auth_on_release_runs_before_the_connection_is_handed_over(redis_server: RedisServer) -> None:
    # DEFECT: redis-py re-authenticates a released connection (AUTH, then read the reply, on
    # that connection) through AfterConnectionReleasedEvent, which its own pool dispatches under
    # the pool lock while nobody can take the connection. This pool dispatched it after
    # unlocking, when the connection already belonged to a waiter or sat on the idle stack:
    # the AUTH reply and the new owner's replies interleave on one socket.
    pool = make_pool(redis_server)
    held = checkout(pool)
    got: list[Any] = []
    waiter = start_waiter(pool, lambda: got.append(checkout(pool)))
    seen: list[tuple[int, bool]] = []

    def re_auth() -> None:  # what redis-py's ReAuthConnectionListener calls on release
        seen.append((pool.stats()["waiting"], bool(got)))

    held.re_auth = re_auth
    pool.release(held)
    waiter.join(5)
    # redis-py 5.0 has no release events: no re-auth runs at all, and the hand-over is the same.
    expected = [(1, False)] if compat.HAS_RELEASE_EVENTS else []
    assert seen == expected, "re-auth ran on a connection already handed to a waiter"
    assert got == [held]
    pool.release(held)


def test_the_pool_lock_is_reentrant_so_a_finalizer_cannot_deadlock_it(redis_server: RedisServer) -> None:
    # DEFECT on redis-py 5.0 (the oldest supported): reset() installed an RLock, then
    # super().reset() replaced it with redis-py 5.0's plain Lock. The cyclic GC runs finalizers
    # at any allocation, including those made under the pool lock (make_connection, the
    # LEAK_WARNING stack); a dropped PubSub's __del__ releases its connection into the pool, so
    # on a plain Lock the thread deadlocks on itself and every later caller of the pool hangs.
    # Forced here by collecting inside make_connection. (Passes on redis-py >= 5.1.)
    pool = make_pool(redis_server, max_connections=4)
    client = redis.Redis(connection_pool=pool)

    def drop_a_pubsub_in_a_cycle() -> None:
        pubsub = client.pubsub()
        pubsub.subscribe("hostile:channel")
        pubsub.cycle = pubsub  # type: ignore[attr-defined]

    drop_a_pubsub_in_a_cycle()
    assert pool.stats()["in_use"] == 1
    real_make_connection = pool.make_connection

    def make_connection_with_a_collection() -> Any:
        gc.collect()  # what an allocation under the lock may trigger
        return real_make_connection()

    pool.make_connection = make_connection_with_a_collection  # type: ignore[method-assign]
    done = threading.Event()

    def use() -> None:
        client.get("hostile:k")
        done.set()

    threading.Thread(target=use, daemon=True).start()
    if not done.wait(3):
        _pools.remove(pool)  # its lock stays held by the deadlocked thread: no disconnect()
        pytest.fail("the pool deadlocked on its own lock")
    del pool.make_connection
    assert pool.stats()["in_use"] == 0
    assert accounted(pool)


def test_a_finalizer_releasing_during_the_leak_scan_neither_raises_nor_leaks_a_slot(
    redis_server: RedisServer,
) -> None:
    # DEFECT (redis-py >= 5.1, where the lock is reentrant): the LEAK_WARNING scan iterated the
    # in-use set under the pool lock while formatting warnings (many allocations, so the GC may
    # run); a dropped PubSub's __del__ then released into the pool, the set changed size, and
    # "RuntimeError: Set changed size during iteration" escaped from the checkout, after the
    # connection had been counted in use: its slot was lost for good. Forced by collecting in
    # the scan.
    pool = make_pool(redis_server, max_connections=8, leak_warning=0.01)
    client = redis.Redis(connection_pool=pool)
    held = [checkout(pool) for _ in range(3)]

    def drop_a_pubsub_in_a_cycle() -> None:
        pubsub = client.pubsub()
        pubsub.subscribe("hostile:channel")
        pubsub.cycle = pubsub  # type: ignore[attr-defined]

    drop_a_pubsub_in_a_cycle()
    time.sleep(0.02)  # the held connections are now past LEAK_WARNING
    policy = pool._policy
    real_report = policy._report_overdue

    def report_with_a_collection(*args: Any, **kwargs: Any) -> None:
        gc.collect()  # what an allocation in the scan may trigger
        real_report(*args, **kwargs)

    policy._report_overdue = report_with_a_collection  # type: ignore[method-assign]
    pool.release(checkout(pool))
    del policy._report_overdue
    for connection in held:
        pool.release(connection)
    stats = pool.stats()
    assert stats["in_use"] == 0
    # The three held and the PubSub's; the scan's own checkout too if the collections took 10 ms.
    assert 4 <= stats["leak_warnings"] <= 5
    assert accounted(pool)


class _InterruptedAsHandedOver(pools._Waiter):
    """A waiter whose thread gets KeyboardInterrupt just as a release hands it a connection."""

    def __init__(self) -> None:
        super().__init__()
        real = self.lock

        class Lock:
            def acquire(self, timeout: float = -1) -> bool:
                assert real.acquire(timeout=timeout)
                raise KeyboardInterrupt

            def release(self) -> None:
                real.release()

        self.lock = Lock()  # type: ignore[assignment]


def test_a_connection_put_back_by_an_interrupted_waiter_still_ages_out_with_max_idle(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DEFECT: a waiter interrupted just after a hand-over puts the connection back (good) without
    # stamping when it went idle. A connection that was never idle has no stamp, reads as idle
    # for no time at all, and, at the bottom of the LIFO stack, stops MAX_IDLE reaping for
    # every connection above it: the pool keeps idle sockets forever.
    pool = make_pool(redis_server, max_connections=2, max_idle=0.05)
    held = checkout(pool)
    other = checkout(pool)
    monkeypatch.setattr(pools, "_Waiter", _InterruptedAsHandedOver)
    interrupted: list[BaseException] = []

    def wait_and_get_interrupted() -> None:
        try:
            checkout(pool)
        except KeyboardInterrupt as exc:
            interrupted.append(exc)

    waiter = start_waiter(pool, wait_and_get_interrupted)
    pool.release(held)
    waiter.join(5)
    monkeypatch.undo()
    assert len(interrupted) == 1
    assert pool.stats()["in_use"] == 1
    assert accounted(pool)
    pool.release(other)  # above `held` on the idle stack
    time.sleep(0.1)  # both idle longer than MAX_IDLE
    pool.release(checkout(pool))
    assert pool.stats()["closed_for_idle"] == 2


# -- guarantees that held ----------------------------------------------------------------------


class _TimedOutAsHandedOver(pools._Waiter):
    """A waiter whose wait times out in the instant a release hands it a connection."""

    def __init__(self) -> None:
        super().__init__()
        real = self.lock

        class Lock:
            def acquire(self, timeout: float = -1) -> bool:
                assert real.acquire(timeout=5)  # the release happened...
                return False  # ...but the wait reports a timeout

            def release(self) -> None:
                real.release()

        self.lock = Lock()  # type: ignore[assignment]


def test_a_waiter_timing_out_as_it_is_handed_a_connection_keeps_it(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = make_pool(redis_server)
    held = checkout(pool)
    monkeypatch.setattr(pools, "_Waiter", _TimedOutAsHandedOver)
    got: list[Any] = []
    waiter = start_waiter(pool, lambda: got.append(checkout(pool)))
    pool.release(held)
    waiter.join(5)
    assert got == [held]
    stats = pool.stats()
    assert (stats["exhausted"], stats["in_use"], stats["waiting"], stats["checkouts"]) == (0, 1, 0, 2)
    pool.release(held)
    assert accounted(pool)


def test_keyboard_interrupt_while_waiting_leaves_the_queue(redis_server: RedisServer) -> None:
    pool = make_pool(redis_server)
    held = checkout(pool)
    main = threading.get_ident()
    sender = threading.Thread(
        target=lambda: (
            wait_until(lambda: pool.stats()["waiting"] == 1),
            signal.pthread_kill(main, signal.SIGINT),
        )
    )
    sender.start()
    with pytest.raises(KeyboardInterrupt):
        checkout(pool)  # blocks in the main thread, where Python delivers SIGINT
    sender.join(5)
    stats = pool.stats()
    assert (stats["waiting"], stats["in_use"], stats["exhausted"], stats["checkouts"]) == (0, 1, 0, 1)
    pool.release(held)
    assert pool._available_connections == [held]
    assert accounted(pool)


def test_disconnect_with_waiters_queued_serves_them_all(redis_server: RedisServer) -> None:
    pool = make_pool(redis_server, max_connections=2)
    client = redis.Redis(connection_pool=pool)
    held = [checkout(pool), checkout(pool)]
    results: list[Any] = []
    waiters = [start_waiter(pool, lambda: results.append(client.incr("hostile:n"))) for _ in range(4)]
    pool.disconnect()  # closes the held sockets under their users, as redis-py does
    for connection in held:
        pool.release(connection)
    for waiter in waiters:
        waiter.join(5)
    assert sorted(results) == [1, 2, 3, 4]
    stats = pool.stats()
    assert (stats["waiting"], stats["in_use"], stats["idle"]) == (0, 0, 2)
    assert accounted(pool)


def test_connect_failures_with_waiters_queued_each_get_an_error_in_time() -> None:
    pool = BlockingPool.from_url(
        f"redis://127.0.0.1:{free_port()}/0", max_connections=2, timeout=1, retry=None
    )
    _pools.append(pool)
    client = redis.Redis(connection_pool=pool)
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def call() -> None:
        barrier.wait()
        try:
            client.get("k")
        except redis.ConnectionError as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=call, daemon=True) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 12
    assert time.monotonic() - started < 3
    stats = pool.stats()
    assert (stats["waiting"], stats["in_use"], stats["checkouts"], stats["connections_created"]) == (
        0,
        0,
        0,
        0,
    )
    assert stats["connection_errors"] + stats["exhausted"] == 12
    assert accounted(pool)


def test_a_connection_of_another_pool_is_ignored(redis_server: RedisServer) -> None:
    pool, other = make_pool(redis_server), make_pool(redis_server)
    foreign = checkout(other)
    held = checkout(pool)
    got: list[Any] = []
    waiter = start_waiter(pool, lambda: got.append(checkout(pool)))
    pool.release(foreign)  # not this pool's: no hand-over, no slot freed
    assert pool.stats()["waiting"] == 1
    assert not got
    pool.release(held)
    waiter.join(5)
    assert got == [held]
    pool.release(held)
    other.release(foreign)
    assert accounted(pool)
    assert accounted(other)


def test_non_blocking_pool_never_queues(redis_server: RedisServer) -> None:
    pool = NonBlockingPool.from_url(redis_server.url, max_connections=1)
    _pools.append(pool)
    held = checkout(pool)
    with pytest.raises(PoolExhaustedError):
        checkout(pool)
    pool.release(held)
    stats = pool.stats()
    assert (stats["waiting"], stats["waits"], stats["exhausted"], stats["in_use"]) == (0, 0, 1, 0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_threads_hold_and_wait(redis_server: RedisServer) -> None:
    pool = make_pool(redis_server, max_connections=1, leak_warning=60, max_idle=60, max_lifetime=60)
    client = redis.Redis(connection_pool=pool)
    held = checkout(pool)
    got: list[Any] = []
    waiter = start_waiter(pool, lambda: got.append(checkout(pool)))
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            pool.release(held)  # the parent's: ignored, its socket untouched
            client.set("hostile:child", os.getpid())
            stats = pool.stats()
            ok = (stats["in_use"], stats["waiting"], stats["checkouts"], stats["idle"]) == (0, 0, 1, 1)
            os.write(write_end, b"ok" if ok and accounted(pool) else repr(stats).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    message = os.read(read_end, 4096)
    os.close(read_end)
    assert (status, message) == (0, b"ok")
    assert pool.stats()["waiting"] == 1  # the parent's waiter is still queued
    assert held.send_command("PING") is None
    assert held.read_response() in (b"PONG", "PONG")
    pool.release(held)
    waiter.join(5)
    assert got == [held]
    pool.release(held)
    assert accounted(pool)


@pytest.mark.slow
def test_counters_balance_under_32_threads_with_everything_on(redis_server: RedisServer) -> None:
    pool = make_pool(redis_server, max_connections=8, max_lifetime=0.05, max_idle=0.02, leak_warning=30)
    client = redis.Redis(connection_pool=pool)
    done = [0] * 32
    failures: list[BaseException] = []
    deadline = time.monotonic() + 1.5
    barrier = threading.Barrier(32)

    def work(n: int) -> None:
        barrier.wait()
        while time.monotonic() < deadline:
            try:
                if n % 4 == 0:
                    with client.pipeline(transaction=True) as pipe:
                        pipe.watch(f"hostile:w{n}")
                        pipe.multi()
                        pipe.incr(f"hostile:w{n}")
                        pipe.execute()
                else:
                    client.get("hostile:k")
                done[n] += 1
            except BaseException as exc:  # any escape is a failure
                failures.append(exc)
                return

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    stats = pool.stats()
    assert failures == []
    assert stats["checkouts"] == sum(done)
    assert (stats["in_use"], stats["waiting"], stats["exhausted"], stats["connection_errors"]) == (0, 0, 0, 0)
    assert stats["peak_in_use"] == 8
    assert min(done) > 0
    assert accounted(pool)
