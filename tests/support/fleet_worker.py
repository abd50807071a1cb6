"""A process that publishes into the fleet, as a gunicorn worker would.

Run as ``python -m tests.support.fleet_worker SETTINGS_JSON MODE``: ``SETTINGS_JSON`` holds
``REDIS_POOL`` and ``REDIS_POOL_FLEET``; MODE ``calm`` runs 50 commands, ``busy`` also holds every
connection of its pool while three more callers time out waiting (PoolExhaustedError). Prints its pid
once a snapshot taken after the work is in Redis, then holds on until its stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django
from django.conf import settings

CALLS = 50
STARVED_CALLERS = 3


def main(settings_json: str, mode: str) -> None:
    configured = json.loads(settings_json)
    settings.configure(INSTALLED_APPS=["django_redis_pool"], **configured)
    django.setup()
    from django_redis_pool import PoolExhaustedError, get_pool, get_redis
    from django_redis_pool._conf.fleet import get_fleet_settings
    from django_redis_pool._fleet import store
    from tests.conftest import checkout

    client, pool = get_redis(), get_pool()
    for _ in range(CALLS):
        client.ping()
    if mode == "busy":
        held = [checkout(pool) for _ in range(pool.max_connections)]
        for _ in range(STARVED_CALLERS):
            try:
                client.ping()
            except PoolExhaustedError:
                continue
            raise AssertionError("every connection is held: the call should have timed out")
        for connection in held:
            pool.release(connection)
    fleet = get_fleet_settings()
    assert fleet is not None
    done = pool.stats()["checkouts"]
    reader = store.fleet_client(fleet, 5.0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mine = [s for s in store.read_fleet(reader, fleet, time.time()).snapshots if s["pid"] == os.getpid()]
        if mine and sum(p["stats"]["checkouts"] for p in mine[0]["pools"]) == done:
            break
        time.sleep(0.05)
    reader.close()
    print(os.getpid(), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
