"""Where a pool's connections may be used, and what a forked child inherits.

The contract, per driver:

* thread driver: one pool per alias and process, shared by every thread; a forked child never uses,
  closes or counts the parent's connections: its counters start at zero, its first command opens a
  connection named with its own pid, and the parent's connection stays open and in use by the parent.
* asyncio driver: one pool per alias and event loop, never handed to another loop (redis-py's asyncio
  connections belong to the loop that opened them); ``get_stats(alias)["async"]`` sums this process's
  loops. A forked child gets pools of its own on its loops, with the same guarantees as a thread
  driver's child: none of the parent's loops' pools is used, closed or counted in the child.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django_redis_pool import get_stats
from django_redis_pool._pool.naming import local_host
from tests.contract.drivers import ALIAS, AsyncioDriver, Driver, ThreadDriver
from tests.support.redis_server import RedisServer

ACTIVITY = ("checkouts", "connections_created", "in_use", "idle", "peak_in_use", "waits")


def activity(stats: dict[str, Any]) -> dict[str, int]:
    return {key: stats[key] for key in ACTIVITY}


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def child_uses_the_alias(driver: Driver) -> dict[str, Any]:
    driver.open_pool()  # the child's pool, before it has done anything
    before = activity(driver.stats())
    client_id = driver.command("CLIENT", "ID")
    name = text(driver.command("CLIENT", "GETNAME"))
    return {"before": before, "client_id": client_id, "name": name, "after": activity(driver.stats())}


def test_a_forked_child_gets_new_connections_and_fresh_counters(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=2)
    parent_id = pool_driver.command("CLIENT", "ID")
    parent_before = activity(pool_driver.stats())
    child = pool_driver.in_forked_child(child_uses_the_alias)
    assert child["before"] == dict.fromkeys(ACTIVITY, 0)
    assert child["client_id"] != parent_id
    assert child["name"] == f"django_redis_pool:{ALIAS}:{local_host()}:{child['pid']}"
    assert child["after"] == {
        "checkouts": 2,
        "connections_created": 1,
        "in_use": 0,
        "idle": 1,
        "peak_in_use": 1,
        "waits": 0,
    }
    # The parent's connection was neither used nor closed by the child.
    assert activity(pool_driver.stats()) == parent_before
    assert pool_driver.command("CLIENT", "ID") == parent_id
    name = text(pool_driver.command("CLIENT", "GETNAME"))
    assert name == f"django_redis_pool:{ALIAS}:{local_host()}:{os.getpid()}"
    stats = pool_driver.stats()
    assert (stats["checkouts"], stats["connections_created"]) == (parent_before["checkouts"] + 2, 1)


def test_threads_share_one_pool_per_process(real_redis: RedisServer, settings: Any) -> None:
    driver = ThreadDriver(real_redis, settings)
    driver.configure(MAX_CONNECTIONS=4)
    ids: list[int] = []
    for n in range(3):  # one after the other: each thread reuses the connection the last released
        thread = threading.Thread(target=lambda: ids.append(driver.command("CLIENT", "ID")), name=f"t{n}")
        thread.start()
        thread.join()
    assert ids == [ids[0]] * 3
    stats = driver.stats()
    assert (stats["connections_created"], stats["checkouts"], "async" in stats) == (1, 3, False)


def test_each_event_loop_gets_its_own_pool(real_redis: RedisServer, settings: Any) -> None:
    first = AsyncioDriver(real_redis, settings)
    second = AsyncioDriver(real_redis, settings)
    try:
        first.configure(MAX_CONNECTIONS=4)
        second.open_pool()
        ids = [first.command("CLIENT", "ID"), second.command("CLIENT", "ID")]
        assert ids[0] != ids[1]  # a connection never crosses to another loop
        assert [first.command("CLIENT", "ID"), second.command("CLIENT", "ID")] == ids  # each reuses its own
        first_pool = first.run(_pool_of(first))
        second_pool = second.run(_pool_of(second))
        assert first_pool is not second_pool
        summed = get_stats(ALIAS)["async"]
        assert (summed["loops"], summed["connections_created"], summed["checkouts"], summed["idle"]) == (
            2,
            2,
            4,
            2,
        )
        assert (first.pool_stats()["checkouts"], second.pool_stats()["checkouts"]) == (2, 2)
    finally:
        first.close()
        second.close()
    assert "async" not in get_stats(ALIAS)  # a closed loop's pools are gone from the stats


async def _pool_of(driver: AsyncioDriver) -> Any:
    return driver._pool()


def test_a_connection_the_parent_holds_at_the_fork_is_left_alone_by_the_child(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_CONNECTIONS=1)
    held = pool_driver.checkout()
    (parent_id,) = pool_driver.pooled_client_ids()

    def child_releases_the_parents_connection(driver: Driver) -> dict[str, Any]:
        driver.open_pool()
        driver.release(held)  # not the child's to release: ignored, its socket untouched
        released = activity(driver.stats())
        client_id = driver.command("CLIENT", "ID")  # the one slot is free in the child
        return {"released": released, "client_id": client_id}

    child = pool_driver.in_forked_child(child_releases_the_parents_connection)
    assert child["released"] == dict.fromkeys(ACTIVITY, 0)
    assert child["client_id"] != parent_id
    pool_driver.release(held)
    assert pool_driver.command("CLIENT", "ID") == parent_id  # the parent's socket still works
    stats = pool_driver.stats()
    assert (stats["checkouts"], stats["connections_created"], stats["in_use"]) == (2, 1, 0)
