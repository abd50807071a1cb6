"""The breaker's decisions, without I/O (the contract suite runs it against real servers)."""

from __future__ import annotations

from django_redis_pool._pool.breaker import ALLOW, PROBE, REFUSE, Breaker
from django_redis_pool._pool.policy import CREATE, REFUSED, PoolPolicy


def test_only_failures_in_a_row_open_it() -> None:
    policy: PoolPolicy[object, object] = PoolPolicy(4, breaker=(2, 1.0, 8.0))
    assert policy.checkout(0.0) is CREATE
    policy.creation_failed()
    policy.checkout_failed(True, 0.0, "ConnectionError: refused")
    connection = object()
    assert policy.checkout(0.1) is CREATE
    policy.created(connection, 0.1)
    policy.connected(connection, 0.1)  # a working connect: the count starts again
    assert (policy.breaker.failures, policy.breaker.state) == (0, "closed")
    policy.checkout_failed(True, 0.2, "ConnectionError: refused")
    assert policy.breaker.state == "closed"
    policy.checkout_failed(True, 0.3, "ConnectionError: refused")
    assert (policy.breaker.state, policy.fast) == ("open", False)
    assert policy.checkout(0.4) is REFUSED


def test_the_probe_delay_doubles_up_to_the_maximum_and_one_caller_probes() -> None:
    breaker = Breaker(1, 1.0, 3.0)
    breaker.failed(10.0, "e")
    assert (breaker.state, breaker.next_probe, breaker.times_opened) == ("open", 11.0, 1)
    assert breaker.admit(10.5) == REFUSE
    assert breaker.admit(11.0) == PROBE
    assert breaker.admit(11.0) == REFUSE  # one probe at a time
    breaker.failed(11.1, "e")
    assert (breaker.delay, breaker.next_probe) == (2.0, 13.1)
    assert breaker.admit(13.1) == PROBE
    breaker.failed(13.2, "e")
    assert breaker.delay == 3.0  # capped
    assert breaker.admit(16.2) == PROBE
    breaker.abandoned()  # the probe was cancelled: another caller may probe at once
    assert breaker.admit(16.2) == PROBE
    breaker.succeeded()
    assert (breaker.state, breaker.tripped, breaker.delay, breaker.times_opened) == ("closed", False, 1.0, 1)
    assert breaker.admit(16.3) == ALLOW
    assert breaker.refused == 2


def test_a_threshold_of_zero_never_opens() -> None:
    breaker = Breaker(0, 1.0, 1.0)
    for _ in range(100):
        breaker.failed(0.0, "e")
    assert (breaker.state, breaker.admit(0.0)) == ("closed", ALLOW)


def test_opening_closes_idle_sockets_so_the_probe_connects_afresh() -> None:
    policy: PoolPolicy[object, object] = PoolPolicy(4, breaker=(1, 1.0, 1.0))
    idle = object()
    assert policy.checkout(0.0) is CREATE
    policy.created(idle, 0.0)
    policy.release(idle, 0.0)
    policy.checkout_failed(True, 0.0, "TimeoutError: timed out")
    assert policy.take_chores() == [idle]
    assert policy.idle == [idle]  # still pooled, to be reconnected by whoever takes it
    assert policy.take_idle() is None  # the fast path is off while the breaker is not closed
