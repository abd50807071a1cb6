"""Rebuilding the pools (a change of REDIS_POOL) while threads and tasks use them, on the real server.

Callers see the old pools or the new ones, never none; no socket is closed under a running command;
the old pools' connections close as they are released; and the server never holds more of the
alias's connections than the old and the new MAX_CONNECTIONS together.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import warnings
from typing import Any

import pytest
from django.test import override_settings

from django_redis_pool import get_async_redis, get_pool, get_redis
from django_redis_pool._registry import sync as registry
from tests.conftest import SAFE_LIMITS
from tests.support.redis_server import RedisServer

MAX_CONNECTIONS = 8
CALLERS = 6  # fewer than MAX_CONNECTIONS: the bound below is the pools', not the callers'
REBUILDS = 150
NAME_PREFIX = "django_redis_pool:default:"

pytestmark = pytest.mark.slow  # seconds each: callers hammer the server through every rebuild


def alias_settings(server: RedisServer, max_connections: int) -> dict[str, Any]:
    return {"default": {"URL": server.url, **SAFE_LIMITS, "MAX_CONNECTIONS": max_connections}}


def alias_connections(admin: Any) -> int:
    return sum(1 for c in admin.client_list() if str(c.get("name", "")).startswith(NAME_PREFIX))


class ConnectionSampler:
    """Counts the alias's connections at the server, from a connection of its own, until stopped."""

    def __init__(self, server: RedisServer) -> None:
        self.admin = server.admin()
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="client-list-sampler", daemon=True)

    def count(self) -> int:
        return alias_connections(self.admin)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.count())
            self.samples += 1

    def __enter__(self) -> ConnectionSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        self.admin.close()


def rebuild_repeatedly(server: RedisServer, stop: threading.Event, worked: Any = None) -> int:
    """Switch REDIS_POOL between two limits REBUILDS times (each override and each restore rebuilds),
    then stop the callers (once ``worked()`` says each caller got a command through, when given:
    on a slow host the rebuilds can end before every task had a turn)."""
    rebuilds = 0
    for n in range(REBUILDS // 2):
        with override_settings(REDIS_POOL=alias_settings(server, MAX_CONNECTIONS - n % 2)):
            rebuilds += 1
        rebuilds += 1
    deadline = time.monotonic() + 10
    while worked is not None and not worked() and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    return rebuilds


def test_threads_see_old_or_new_pools_never_none_while_the_setting_changes(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = alias_settings(real_redis, MAX_CONNECTIONS)
    stop = threading.Event()
    errors: list[BaseException] = []
    commands = [0] * CALLERS

    def caller(n: int) -> None:
        key = f"hammer:{n}"
        while not stop.is_set():
            try:
                client = get_redis()
                client.set(key, n)
                assert client.get(key) == str(n).encode()
                commands[n] += 1
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,), name=f"hammer-{n}") for n in range(CALLERS)]
    with ConnectionSampler(real_redis) as sampler:
        for thread in threads:
            thread.start()
        rebuilds = rebuild_repeatedly(real_redis, stop)
        for thread in threads:
            thread.join(30)
    assert [repr(e) for e in errors[:5]] == []
    assert rebuilds == REBUILDS
    assert min(commands) > 0
    assert sampler.samples > 0
    assert sampler.peak <= 2 * MAX_CONNECTIONS, f"the server saw {sampler.peak} connections"
    # The retired pools drained: only the current pool's connections remain, all idle.
    assert sampler.count() <= get_pool().max_connections
    assert get_pool().stats()["in_use"] == 0


def test_tasks_follow_the_new_pools_while_the_setting_changes(real_redis: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = alias_settings(real_redis, MAX_CONNECTIONS)
    stop = threading.Event()
    errors: list[BaseException] = []
    commands = [0] * CALLERS

    async def caller(n: int) -> None:
        key = f"hammer:{n}"
        while not stop.is_set():
            try:
                client = get_async_redis()
                await client.set(key, n)
                assert await client.get(key) == str(n).encode()
                commands[n] += 1
            except Exception as exc:
                errors.append(exc)

    async def run_callers() -> int:
        await asyncio.gather(*(caller(n) for n in range(CALLERS)))
        get_async_redis()  # retires the last generation's pools on this loop
        await asyncio.sleep(0.1)  # lets the retiring tasks close their idle connections
        with real_redis.admin() as admin:
            return alias_connections(admin)

    outcome: dict[str, int] = {}
    loop_thread = threading.Thread(
        target=lambda: outcome.update(left=asyncio.run(run_callers())), name="hammer-loop"
    )
    with ConnectionSampler(real_redis) as sampler:
        loop_thread.start()
        rebuilds = rebuild_repeatedly(real_redis, stop, worked=lambda: min(commands) > 0)
        loop_thread.join(30)
    assert [repr(e) for e in errors[:5]] == []
    assert rebuilds == REBUILDS
    assert min(commands) > 0
    assert sampler.peak <= 2 * MAX_CONNECTIONS, f"the server saw {sampler.peak} connections"
    assert outcome["left"] <= MAX_CONNECTIONS
    assert registry.build_error() is None


def test_a_rebuild_in_a_forked_child_retires_the_parents_pool_without_its_lock(
    real_redis: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = alias_settings(real_redis, MAX_CONNECTIONS)
    get_redis().ping()  # the parent's pool holds an idle connection
    parent_pool = get_pool()
    held, done = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # a thread of the parent holds the pool's lock at the fork
        with parent_pool._lock:
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold_the_lock, name="lock-holder")
    holder.start()
    assert held.wait(10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork with threads
            pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                signal.alarm(10)  # a child stuck on the parent's lock dies instead of hanging
                registry.build_all()  # the child's first use of the pools is a rebuild
                code = 0 if parent_pool.retired and get_redis().ping() is True else 2
            finally:
                os._exit(code)
    finally:
        done.set()
        holder.join(10)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert get_redis().ping() is True  # the parent's pool and connection are untouched
    assert parent_pool.retired is False
