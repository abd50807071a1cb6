"""Every view answers with the pid of the worker that served it. ``?hold=SECONDS`` keeps the worker
busy that long first, so concurrent requests spread over the sync workers."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from django.http import HttpRequest, JsonResponse

from django_redis_pool import PoolExhaustedError, get_pool, get_redis, get_stats

# The waiting view gives up on a pool that never shows its waiters after this long (a bug, not a pace).
DEADLINE = 30.0


def _answer(request: HttpRequest, **fields: Any) -> JsonResponse:
    hold = float(request.GET.get("hold", "0"))
    if hold:
        time.sleep(hold)
    return JsonResponse({"pid": os.getpid(), **fields})


def pid(request: HttpRequest) -> JsonResponse:
    """No Redis at all: answers while Redis is down."""
    return _answer(request)


def get(request: HttpRequest) -> JsonResponse:
    value = get_redis().get("gunicorn-site:key")
    return _answer(request, value=value)


def threads(request: HttpRequest) -> JsonResponse:
    return _answer(request, threads=sorted(t.name for t in threading.enumerate()))


def _wait_for_waiters(count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while get_stats("default")["waiting"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pool never showed {count} waiter(s)")
        time.sleep(0.01)


def exhaust(request: HttpRequest) -> JsonResponse:
    """Queue and exhaust this worker's pool, in order: hold every connection; start ``waiters``
    threads that queue; release, so each waiter is handed a connection after a wait; start
    ``exhausted`` threads that queue behind the waiters' connections until POOL_TIMEOUT, then
    PoolExhaustedError. The pool's counters then show waits = waiters + exhausted, and exhausted."""
    pool = get_pool()
    waiters = int(request.GET.get("waiters", "2"))
    losers = int(request.GET.get("exhausted", "2"))
    outcomes: list[str] = []
    done = threading.Event()

    def queue_and_hold() -> None:
        connection = pool.get_connection()
        outcomes.append("handed")
        done.wait(DEADLINE)
        pool.release(connection)

    def queue_and_give_up() -> None:
        try:
            connection = pool.get_connection()
        except PoolExhaustedError:
            outcomes.append("exhausted")
        else:  # not expected: the pool was full for the whole POOL_TIMEOUT
            outcomes.append("got one")
            pool.release(connection)

    held = [pool.get_connection() for _ in range(pool.max_connections)]
    holders = [threading.Thread(target=queue_and_hold) for _ in range(waiters)]
    try:
        for thread in holders:
            thread.start()
        _wait_for_waiters(waiters)
    finally:
        for connection in held:
            pool.release(connection)
    queued = [threading.Thread(target=queue_and_give_up) for _ in range(losers)]
    for thread in queued:
        thread.start()
    for thread in queued:
        thread.join(DEADLINE)
    done.set()
    for thread in holders:
        thread.join(DEADLINE)
    return _answer(request, outcomes=sorted(outcomes))
