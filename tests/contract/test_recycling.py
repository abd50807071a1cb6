"""MAX_LIFETIME and MAX_IDLE: which connections are closed, when, and how they are counted.

These wait for a lifetime or an idle time to pass, so they sleep; each sleep is a bound with a margin
(the connection must be past, or well short of, its limit), never a measurement.
"""

from __future__ import annotations

import time

import pytest

from tests.contract.drivers import WAIT, Driver


def wait_for_server_ids(driver: Driver, expected: set[int]) -> None:
    deadline = time.monotonic() + WAIT
    while (ids := driver.pooled_client_ids()) != expected:
        assert time.monotonic() < deadline, f"the server has {ids}, not {expected}"
        time.sleep(0.005)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def cycle_all(driver: Driver, count: int) -> None:
    """Check out ``count`` connections at once and release them: each one is looked at."""
    held = [driver.checkout() for _ in range(count)]
    for connection in held:
        driver.release(connection)


def test_max_lifetime_replaces_an_old_connection(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_LIFETIME=0.5)
    first = pool_driver.command("CLIENT", "ID")
    assert pool_driver.command("CLIENT", "ID") == first  # well within its lifetime (at least 0.45 s)
    time.sleep(0.6)
    second = pool_driver.command("CLIENT", "ID")
    assert second != first
    stats = pool_driver.stats()
    assert (stats["closed_for_age"], stats["connections_created"], stats["closed_for_idle"]) == (1, 2, 0)
    wait_for_server_ids(pool_driver, {second})


def test_a_connection_past_its_lifetime_is_closed_when_released_not_under_its_user(
    pool_driver: Driver,
) -> None:
    pool_driver.configure(MAX_LIFETIME=0.3, MAX_CONNECTIONS=2)
    held = pool_driver.checkout()
    (old,) = pool_driver.pooled_client_ids()
    time.sleep(0.4)
    assert pool_driver.pooled_client_ids() == {old}  # still open while checked out
    pool_driver.release(held)
    stats = pool_driver.stats()
    assert (stats["closed_for_age"], stats["in_use"], stats["idle"]) == (1, 0, 0)
    wait_for_server_ids(pool_driver, set())
    new = pool_driver.command("CLIENT", "ID")
    assert new != old
    assert pool_driver.stats()["connections_created"] == 2


def probe(driver: Driver, count: int) -> tuple[float, float, int]:
    """Look at every connection once; (when the probe began, when it ended, closed_for_age after)."""
    began = time.monotonic()
    cycle_all(driver, count)
    return began, time.monotonic(), driver.stats()["closed_for_age"]


@pytest.mark.slow
def test_max_lifetime_is_jittered_between_nine_tenths_and_all_of_it(pool_driver: Driver) -> None:
    # Each connection lives MAX_LIFETIME x a factor drawn from [0.9, 1.0]: none is closed before
    # 0.9 x, some but not all of 20 at 0.95 x (all 20 on one side of it: p = 2e-6), all after 1.0 x.
    # Each probe first checks that it ran inside its window (the host was not stalled past a margin
    # of 0.1 x MAX_LIFETIME); the outcome inside the window is then certain, or nearly.
    # 10 s: a loaded 2-core host may take a few tenths of a second to open the 20, and the midway
    # window, [the last opened + 0.9 x, the first opened + 1.0 x), must stay open after that.
    lifetime, count = 10.0, 20
    pool_driver.configure(MAX_LIFETIME=lifetime, MAX_CONNECTIONS=count)
    opened = time.monotonic()
    cycle_all(pool_driver, count)
    all_open = time.monotonic()

    sleep_until(opened + 0.8 * lifetime)
    _, ended, closed = probe(pool_driver, count)
    assert ended < opened + 0.9 * lifetime, f"the early probe ended late, at {ended - opened:.3f} s"
    assert closed == 0

    sleep_until(max(opened + 0.95 * lifetime, all_open + 0.9 * lifetime + 0.01))
    began, ended, closed = probe(pool_driver, count)
    window = f"the midway probe ran from {began - opened:.3f} s to {ended - opened:.3f} s"
    assert all_open + 0.9 * lifetime <= began, window
    assert ended < opened + lifetime, window
    assert 0 < closed < count, f"{closed} of {count} connections expired by 0.95 x MAX_LIFETIME"

    # Those replaced at the midway probe live until at least 0.95 + 0.9 lifetimes: not expired yet.
    sleep_until(all_open + 1.05 * lifetime)
    _, ended, closed = probe(pool_driver, count)
    assert ended < opened + 1.8 * lifetime, f"the last probe ended late, at {ended - opened:.3f} s"
    stats = pool_driver.stats()
    assert (closed, stats["connections_created"], stats["idle"]) == (count, 2 * count, count)


def test_max_idle_closes_connections_unused_that_long_and_keeps_recent_ones(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_IDLE=0.5, MAX_CONNECTIONS=10)
    cycle_all(pool_driver, 3)
    first_three = pool_driver.pooled_client_ids()
    assert len(first_three) == 3
    pool_driver.command("PING")  # well within MAX_IDLE: nothing is closed
    assert (pool_driver.stats()["closed_for_idle"], pool_driver.pooled_client_ids()) == (0, first_three)
    time.sleep(0.6)
    # The process was idle: its next use closes all three and opens one.
    last = pool_driver.command("CLIENT", "ID")
    assert last not in first_three
    stats = pool_driver.stats()
    assert (
        stats["closed_for_idle"],
        stats["idle"],
        stats["connections_created"],
        stats["closed_for_age"],
    ) == (
        3,
        1,
        4,
        0,
    )
    wait_for_server_ids(pool_driver, {last})


def test_max_idle_never_closes_a_checked_out_connection(pool_driver: Driver) -> None:
    pool_driver.configure(MAX_IDLE=0.2, MAX_CONNECTIONS=10)
    held = pool_driver.checkout()
    (busy,) = pool_driver.pooled_client_ids()
    time.sleep(0.3)
    spare = pool_driver.command("CLIENT", "ID")  # a second connection: the first is checked out
    assert spare != busy
    assert pool_driver.stats()["closed_for_idle"] == 0
    pool_driver.release(held)
    assert pool_driver.pooled_client_ids() == {busy, spare}
    stats = pool_driver.stats()
    assert (stats["closed_for_idle"], stats["idle"], stats["in_use"]) == (0, 2, 0)
