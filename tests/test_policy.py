"""The pool policy on its own: no server, no threads, no event loop; time and randomness are given."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from django_redis_pool._pool.counters import STATS_KEYS, summarize
from django_redis_pool._pool.policy import CREATE, EXHAUSTED, IGNORED, WAIT, PoolPolicy
from django_redis_pool._pool.state import Leak, Origin

_numbers = itertools.count()


class Conn:
    """A stand-in connection: the policy only hashes it and asks whether it is open."""

    def __init__(self) -> None:
        self.n = next(_numbers)
        self.open = True

    def __repr__(self) -> str:
        return f"<Conn {self.n}>"


def make(max_connections: int = 2, **kwargs: Any) -> PoolPolicy[Conn, str]:
    kwargs.setdefault("is_open", lambda connection: connection.open)
    return PoolPolicy(max_connections, **kwargs)


def take(policy: PoolPolicy[Conn, str], now: float = 0.0, origin: Origin | None = None) -> Conn:
    """A checkout that must not wait: the idle connection, or a new one made for its slot."""
    got = policy.checkout(now, origin)
    if got is CREATE:
        connection = Conn()
        policy.created(connection, now, origin)
        policy.connected(connection, now)
        return connection
    assert isinstance(got, Conn), got
    return got


# -- checkout and release ----------------------------------------------------------------------


def test_a_released_connection_is_reused_last_in_first_out() -> None:
    policy = make(3)
    a, b = take(policy), take(policy)
    assert (policy.release(a, 0.0), policy.release(b, 0.0)) == (None, None)
    assert policy.take_idle() is b
    assert policy.take_idle() is a
    assert policy.take_idle() is None
    stats = policy.stats(0.0)
    assert (stats["in_use"], stats["idle"], stats["checkouts"], stats["peak_in_use"]) == (2, 0, 4, 2)


def test_a_full_pool_queues_callers_and_hands_over_first_come_first_served() -> None:
    policy = make(1)
    held = take(policy)
    assert policy.checkout(0.0) is WAIT
    policy.enqueue("first")
    policy.enqueue("second")
    assert policy.stats(0.0)["waiting"] == 2
    assert policy.release(held, 1.0) == "first"
    assert policy.checkout(1.0) is WAIT  # a newcomer queues behind "second": the connection is taken
    assert policy.claim("first", 1.0, waited=1.0) is held
    assert policy.release(held, 2.0) == "second"
    assert policy.claim("second", 2.0, waited=2.0) is held
    stats = policy.stats(2.0)
    assert (stats["waits"], stats["wait_ms_total"], stats["wait_ms_p50"], stats["wait_ms_max"]) == (
        2,
        3000.0,
        1000.0,
        2000.0,
    )


def test_a_non_blocking_full_pool_refuses_and_counts_it() -> None:
    policy = make(1, blocking=False)
    take(policy)
    assert policy.checkout(0.0) is EXHAUSTED
    assert (policy.stats(0.0)["exhausted"], policy.stats(0.0)["waiting"]) == (1, 0)


def test_a_waiter_that_times_out_leaves_the_queue_counted_as_exhausted() -> None:
    policy = make(1)
    held = take(policy)
    policy.enqueue("late")
    assert policy.claim("late", 5.0, waited=5.0) is None
    assert policy.release(held, 6.0) is None  # nobody waits any more: back to the idle stack
    stats = policy.stats(6.0)
    assert (stats["exhausted"], stats["waiting"], stats["idle"], stats["waits"]) == (1, 0, 1, 1)


def test_a_hand_over_wins_over_a_timeout_that_came_with_it() -> None:
    policy = make(1)
    held = take(policy)
    policy.enqueue("w")
    assert policy.release(held, 1.0) == "w"
    assert policy.expire("w", waited=1.0) is False  # the asyncio timer fired too late
    assert policy.claim("w", 1.0, waited=1.0) is held
    assert policy.stats(1.0)["exhausted"] == 0


def test_an_interrupted_waiter_passes_what_it_was_handed_to_the_next_one() -> None:
    policy = make(1)
    held = take(policy)
    policy.enqueue("cancelled")
    policy.enqueue("next")
    assert policy.release(held, 1.0) == "cancelled"
    assert policy.abandon("cancelled", 1.0, waited=1.0) == "next"
    assert policy.claim("next", 1.0, waited=1.0) is held
    assert policy.release(held, 1.0) is None
    assert policy.abandon("gone", 1.0, waited=0.0) is None  # not queued: nothing to do
    assert (policy.stats(1.0)["idle"], policy.slots) == (1, 1)


def test_a_connection_not_checked_out_or_on_its_way_to_a_waiter_is_ignored() -> None:
    policy = make(1)
    held = take(policy)
    assert policy.release(Conn(), 0.0) is IGNORED
    policy.enqueue("w")
    assert policy.release(held, 0.0) == "w"
    assert (policy.releasable(held), policy.release(held, 0.0)) == (False, IGNORED)  # released twice
    assert policy.claim("w", 0.0, 0.0) is held
    assert policy.releasable(held) is True


def test_a_disowned_connection_is_closed_and_its_slot_goes_to_a_waiter() -> None:
    policy = make(1)
    held = take(policy)
    policy.enqueue("w")
    assert policy.release(held, 0.0, owned=False) == "w"
    assert policy.take_chores() == [held]
    assert policy.claim("w", 0.0, 0.0) is CREATE  # the freed slot, reserved for the waiter
    replacement = Conn()
    policy.created(replacement, 0.0)
    assert (policy.in_use, policy.slots, policy.reserved, policy.closed_for_age) == ({replacement}, 1, 0, 0)


def test_a_failed_creation_frees_the_slot_or_passes_it_on() -> None:
    policy = make(1)
    assert policy.checkout(0.0) is CREATE
    assert policy.creation_failed() is None
    assert (policy.slots, policy.reserved) == (0, 0)
    assert policy.checkout(0.0) is CREATE
    policy.enqueue("w")
    assert policy.creation_failed() == "w"
    assert policy.claim("w", 0.0, 0.0) is CREATE


def test_a_failed_connect_is_not_a_checkout() -> None:
    policy = make(1)
    held = take(policy)
    policy.checkout_failed(connection_error=True)
    policy.release(held, 0.0)
    stats = policy.stats(0.0)
    assert (stats["checkouts"], stats["connection_errors"], stats["in_use"]) == (0, 1, 0)


# -- recycling and leaks -----------------------------------------------------------------------


@pytest.mark.parametrize(("draw", "lifetime"), [(0.0, 100.0), (0.5, 95.0), (0.999, 90.01)])
def test_max_lifetime_is_jittered_down_by_up_to_ten_percent(draw: float, lifetime: float) -> None:
    policy = make(1, max_lifetime=100, random=lambda: draw)
    connection = take(policy, now=10.0)
    assert policy.states[connection].expires_at == pytest.approx(10.0 + lifetime)


def test_a_connection_past_max_lifetime_is_retired_at_release_and_its_slot_handed_on() -> None:
    policy = make(1, max_lifetime=10, random=lambda: 0.0)
    held = take(policy, now=0.0)
    policy.enqueue("w")
    assert policy.release(held, 10.0) == "w"
    assert policy.take_chores() == [held]  # the driver closes it; nobody else can have it
    assert policy.claim("w", 10.0, 1.0) is CREATE
    assert (policy.closed_for_age, held in policy.states) == (1, False)


def test_an_idle_connection_past_max_lifetime_is_closed_by_its_next_owner() -> None:
    policy = make(1, max_lifetime=10, random=lambda: 0.0)
    connection = take(policy, now=0.0)
    policy.release(connection, 1.0)
    assert policy.checkout(11.0) is connection
    assert (policy.take_chores(), policy.closed_for_age) == ([connection], 1)  # then it reconnects


def test_max_idle_closes_from_the_bottom_of_the_stack_only() -> None:
    policy = make(3, max_idle=6)
    a, b, c = take(policy), take(policy), take(policy)
    for connection, at in ((a, 0.0), (b, 5.0), (c, 10.0)):
        policy.release(connection, at)
    b.open = False  # closed by the server meanwhile: dropped, not counted as closed for idle
    assert policy.checkout(12.0) is c
    assert policy.take_chores() == [a]
    assert (policy.idle, policy.slots, policy.closed_for_idle) == ([], 1, 1)


def test_a_leak_is_reported_once_with_the_stack_of_whoever_took_it() -> None:
    policy = make(2, leak_warning=1)
    origin = Origin(stack=None, owner="thread 'worker'")  # type: ignore[arg-type]
    held = take(policy, now=0.0, origin=origin)
    other = take(policy, now=2.0)  # a checkout scans the connections in use
    assert policy.take_chores() == [Leak(held=2.0, limit=1, origin=origin, released=False)]
    assert policy.stats(2.5)["oldest_checkout_age_s"] == 2.5
    policy.release(other, 5.0)  # held for 3 s: warned now, at its release
    policy.release(held, 5.0)  # warned already: not again on release
    assert [leak.released for leak in policy.take_chores()] == [True]  # type: ignore[union-attr]
    assert (policy.leak_warnings, policy.stats(5.0)["oldest_checkout_age_s"]) == (2, None)


def test_a_forked_child_starts_with_nothing_and_the_same_settings() -> None:
    policy = make(4, max_lifetime=5, leak_warning=2)
    take(policy)
    child = policy.renewed()
    assert (child.max_connections, child.max_lifetime, child.leak_warning) == (4, 5, 2)
    assert (child.slots, child.checkouts, child.in_use, child.states) == (0, 0, set(), {})


# -- stats -------------------------------------------------------------------------------------


def test_stats_have_the_documented_keys_and_types_even_when_empty() -> None:
    stats = make(3).stats(0.0)
    assert list(stats) == list(STATS_KEYS)
    floats = {k for k in STATS_KEYS if k.startswith("wait_ms_")}
    assert {k: type(v) for k, v in stats.items()} == {
        **dict.fromkeys(STATS_KEYS, int),
        **dict.fromkeys(floats, float),
        "oldest_checkout_age_s": type(None),
        "breaker_state": str,
    }


def test_stats_of_several_pools_sum_counts_and_merge_wait_windows() -> None:
    first, second = make(1), make(2)
    for policy, waited in ((first, 0.1), (second, 0.3)):
        held = take(policy)
        policy.enqueue("w")
        policy.release(held, 1.0)
        policy.claim("w", 1.0, waited)
    total = summarize([first.snapshot(1.0), second.snapshot(1.0)])
    assert (total["max_connections"], total["in_use"], total["waits"]) == (3, 2, 2)
    assert (total["wait_ms_p50"], total["wait_ms_p99"], total["wait_ms_max"]) == (100.0, 300.0, 300.0)
    assert summarize([])["wait_ms_p50"] == 0.0


# -- every sequence of events keeps the accounting ----------------------------------------------


class PolicyMachine(RuleBasedStateMachine):
    """Random checkouts, releases, waits, timeouts, cancellations and clock moves; the policy must
    never lose or double a slot, exceed MAX_CONNECTIONS, or serve waiters out of order."""

    @initialize(
        max_connections=st.integers(1, 4),
        recycling=st.booleans(),
        blocking=st.booleans(),
    )
    def build(self, max_connections: int, recycling: bool, blocking: bool) -> None:
        extras: dict[str, Any] = {"max_lifetime": 5, "max_idle": 3, "leak_warning": 2} if recycling else {}
        self.policy = make(max_connections, blocking=blocking, random=lambda: 0.5, **extras)
        self.now = 0.0
        self.held: list[Conn] = []
        self.queue: list[str] = []  # the model's FIFO of waiters still waiting
        self.woken: list[str] = []
        self.tokens = (f"w{n}" for n in itertools.count())

    def _woke(self, waiter: Any) -> None:
        if waiter is None or waiter is IGNORED:
            return
        assert waiter == self.queue.pop(0), "a waiter was served out of turn"
        self.woken.append(waiter)

    def _got(self, got: Any, fail: bool = False) -> None:
        if got is CREATE and fail:  # making the connection raised: its slot is freed or passed on
            self._woke(self.policy.creation_failed())
            return
        if got is CREATE:
            got = Conn()
            self.policy.created(got, self.now)
            self.policy.connected(got, self.now)
        self.held.append(got)

    @rule(fail=st.booleans())
    def checkout(self, fail: bool) -> None:
        got = self.policy.checkout(self.now)
        if got is WAIT:
            token = next(self.tokens)
            self.policy.enqueue(token)
            self.queue.append(token)
        elif got is not EXHAUSTED:
            self._got(got, fail)

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 10), owned=st.booleans())
    def release(self, index: int, owned: bool) -> None:
        connection = self.held.pop(index % len(self.held))
        self._woke(self.policy.release(connection, self.now, owned))

    @rule()
    def release_a_stranger(self) -> None:
        assert self.policy.release(Conn(), self.now) is IGNORED

    @precondition(lambda self: self.woken)
    @rule(fail=st.booleans())
    def claim(self, fail: bool) -> None:
        got = self.policy.claim(self.woken.pop(0), self.now, 0.1)
        assert got is not None
        self._got(got, fail)

    @precondition(lambda self: self.queue)
    @rule()
    def time_out(self) -> None:
        assert self.policy.claim(self.queue.pop(0), self.now, 1.0) is None

    @precondition(lambda self: self.queue or self.woken)
    @rule(woken=st.booleans())
    def cancel(self, woken: bool) -> None:
        token = (self.woken if woken and self.woken else self.queue or self.woken).pop()
        self._woke(self.policy.abandon(token, self.now, 0.5))

    @rule(seconds=st.floats(0.0, 4.0))
    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.policy.take_chores()

    @invariant()
    def no_slot_is_lost_or_doubled(self) -> None:
        policy = self.policy
        in_transit = [c for c in policy.handed.values() if c is not None]
        pending = sum(1 for c in policy.handed.values() if c is None)
        assert len(policy.in_use) + len(policy.idle) + policy.reserved == policy.slots
        assert policy.slots <= policy.max_connections
        assert policy.reserved == pending
        assert sorted(map(id, policy.in_use)) == sorted(map(id, self.held + in_transit))
        assert len(set(policy.idle)) == len(policy.idle)
        assert not set(policy.idle) & policy.in_use
        assert list(policy.waiters) == self.queue
        stats = policy.stats(self.now)
        assert (stats["in_use"], stats["waiting"]) == (len(policy.in_use), len(self.queue))

    @invariant()
    def nobody_waits_while_a_connection_is_idle(self) -> None:
        assert not (self.policy.waiters and self.policy.idle)


TestPolicyMachine = PolicyMachine.TestCase
TestPolicyMachine.settings = hypothesis_settings(max_examples=300, stateful_step_count=40, deadline=None)
