"""A worker process of the fleet site, publishing its pool into the fleet (FLEET_INTERVAL must be set).

``python -m tests.support.fleet_site.worker exhaust``: holds its only connection (run it with
MAX_CONNECTIONS=1), then asks for another and gets a PoolExhaustedError. ``... busy``: five threads take
and give back connections for a moment each, so that its in_use moves and, with MAX_CONNECTIONS=3, some
wait. Both print their pid once done,
then keep running, and publishing, until their stdin closes.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time

import django

django.setup()

from django_redis_pool import PoolExhaustedError, get_pool, get_redis  # noqa: E402 - after setup()
from tests.conftest import checkout  # noqa: E402

HELD: list[object] = []  # checked out until the process ends


def exhaust() -> None:
    get_redis().ping()  # the pool's first connection: the publisher starts
    HELD.append(checkout(get_pool()))
    try:
        get_redis().ping()
    except PoolExhaustedError:
        pass
    else:
        raise SystemExit("expected a PoolExhaustedError: run with MAX_CONNECTIONS=1")


def busy(stop: threading.Event) -> None:
    pool = get_pool()
    while not stop.is_set():
        connection = checkout(pool)
        time.sleep(random.uniform(0.1, 1.5))
        pool.release(connection)
        time.sleep(random.uniform(0.1, 1.0))


def main(role: str) -> None:
    stop = threading.Event()
    if role == "exhaust":
        exhaust()
    else:
        get_redis().ping()
        for _ in range(5):
            threading.Thread(target=busy, args=(stop,), daemon=True).start()
    print(os.getpid(), flush=True)
    sys.stdin.read()
    stop.set()


if __name__ == "__main__":
    main(sys.argv[1])
