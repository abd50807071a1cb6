"""COMMAND_TIMEOUT: one deadline for a whole call, redis-py's retries included (_pool/deadline.py).

The real-server tests go through tests/support/proxy.py. A failing server costs a caller redis-py's
attempts x (timeouts + backoff) without the deadline (about a minute with the README's settings):
the bounds asserted here (5 s for a 1 s deadline) are what the feature is, not timings.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ConstantBackoff, ExponentialBackoff, NoBackoff
from redis.retry import Retry

from django_redis_pool import get_async_redis, get_redis
from django_redis_pool._conf.settings import parse_alias
from django_redis_pool._pool import compat, deadline
from django_redis_pool._pool.deadline import AsyncDeadlineRetry, DeadlineRetry, with_deadline
from django_redis_pool._registry import sync as registry
from tests.support.proxy import FaultProxy
from tests.support.redis_server import RedisServer

BOUND = 5.0  # seconds: a 1 s deadline, with room for a loaded machine; never ~60 s
FAILURES = (redis.TimeoutError, redis.ConnectionError)


# -- the arithmetic ------------------------------------------------------------------------------


def test_derived_budget_is_one_whole_attempt() -> None:
    assert deadline.derived_budget(5, 5) == 10.0
    assert deadline.derived_budget(None, 2) == 4.0  # redis-py connects within socket_timeout then
    assert deadline.derived_budget(5, None) is None  # a read may block forever: nothing to derive


def test_may_retry_only_when_the_backoff_leaves_time_for_an_attempt() -> None:
    assert deadline.may_retry(now=10.0, deadline=None, backoff=100.0) is True
    assert deadline.may_retry(now=10.0, deadline=11.0, backoff=0.5) is True
    assert deadline.may_retry(now=10.0, deadline=11.0, backoff=0.999) is False
    assert deadline.may_retry(now=10.0, deadline=11.0, backoff=2.0) is False


def test_attempt_timeout_is_the_configured_one_shortened_to_what_is_left() -> None:
    assert deadline.attempt_timeout(5.0, remaining=0.5) == 0.5
    assert deadline.attempt_timeout(0.2, remaining=0.5) == 0.2
    assert deadline.attempt_timeout(None, remaining=0.5) == 0.5
    assert deadline.attempt_timeout(5.0, remaining=-1.0) == deadline.MIN_ATTEMPT


def test_with_deadline_keeps_redis_pys_backoff_count_and_errors() -> None:
    backoff = ExponentialBackoff(cap=2, base=0.1)
    wrapped = with_deadline(Retry(backoff, 4, (redis.ConnectionError,)), 1.5, derived=False)
    assert type(wrapped) is DeadlineRetry
    assert (wrapped._backoff, compat.retry_count(wrapped), wrapped._supported_errors) == (
        backoff,
        4,
        (redis.ConnectionError,),
    )
    assert (wrapped.command_timeout, wrapped.derived) == (1.5, False)


def test_with_deadline_leaves_none_a_custom_retry_and_an_explicit_none() -> None:
    class MyRetry(Retry):
        pass

    mine = MyRetry(NoBackoff(), 2)
    assert with_deadline(mine, 1.0, derived=False) is mine
    plain = Retry(NoBackoff(), 2)
    assert with_deadline(plain, None, derived=False) is plain
    bare = with_deadline(None, 1.0, derived=False)
    assert (type(bare), compat.retry_count(bare)) == (DeadlineRetry, 0)
    assert compat.retry_count(with_deadline(None, 1.0, derived=False, retry_once=True)) == 1


def test_each_connection_gets_a_fresh_copy_and_asyncio_its_twin() -> None:
    template = DeadlineRetry(ExponentialBackoff(), 3, command_timeout=2.0)
    template.checkout_started(object(), time.monotonic())
    copied = copy.deepcopy(template)
    assert (copied._connection, copied._deadline, copied._depth) == (None, None, 0)
    assert copied.command_timeout == 2.0
    assert copied._backoff is not template._backoff
    twin = template.asyncio_twin()
    assert (type(twin), compat.retry_count(twin), twin.command_timeout) == (AsyncDeadlineRetry, 3, 2.0)


class Flaky:
    """``do`` for call_with_retry: fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.error = failures, error or redis.ConnectionError("down")
        self.calls: list[str] = []

    def __call__(self) -> str:
        self.calls.append("do")
        if self.calls.count("do") <= self.failures:
            raise self.error
        return "answer"

    async def async_call(self) -> str:
        return self()

    def fail(self, error: Exception, *count: int) -> None:
        self.calls.append(f"fail{count}")

    async def async_fail(self, error: Exception, *count: int) -> None:
        self.fail(error, *count)


def test_sync_loop_retries_like_redis_py_within_the_deadline() -> None:
    flaky = Flaky(failures=2)
    retry = DeadlineRetry(NoBackoff(), 3, command_timeout=60.0)
    assert retry.call_with_retry(flaky, flaky.fail) == "answer"
    assert flaky.calls == ["do", "fail()", "do", "fail()", "do"]
    counted = Flaky(failures=1)
    assert retry.call_with_retry(counted, counted.fail, with_failure_count=True) == "answer"
    assert counted.calls == ["do", "fail(1,)", "do"]
    exhausted = Flaky(failures=5)
    with pytest.raises(redis.ConnectionError):
        DeadlineRetry(NoBackoff(), 1, command_timeout=60.0).call_with_retry(exhausted, exhausted.fail)
    assert exhausted.calls == ["do", "fail()", "do", "fail()"]  # redis-py's count still applies


def test_sync_loop_gives_up_when_the_backoff_would_pass_the_deadline() -> None:
    flaky = Flaky(failures=5)
    retry = DeadlineRetry(ConstantBackoff(30), 10, command_timeout=1.0)
    connection = SimpleNamespace(socket_timeout=5, socket_connect_timeout=5)
    retry.checkout_started(connection, time.monotonic())
    retry.checkout_done()
    with pytest.raises(redis.ConnectionError):
        retry.call_with_retry(flaky, flaky.fail)
    assert flaky.calls == ["do", "fail()"]  # one attempt: a 30 s backoff cannot fit in 1 s
    assert (connection.socket_timeout, connection.socket_connect_timeout) == (5, 5)  # set back


def test_sync_loop_raises_at_once_what_is_not_retryable() -> None:
    flaky = Flaky(failures=1)
    with pytest.raises(redis.ConnectionError):
        DeadlineRetry(NoBackoff(), 3).call_with_retry(flaky, flaky.fail, is_retryable=lambda e: False)
    assert flaky.calls == ["do"]


def test_async_loop_retries_gives_up_and_raises_like_the_sync_one() -> None:
    async def scenario() -> list[list[str]]:
        flaky, counted, hopeless, final = Flaky(2), Flaky(1), Flaky(5), Flaky(1)
        retry = AsyncDeadlineRetry(NoBackoff(), 3, command_timeout=60.0)
        assert await retry.call_with_retry(flaky.async_call, flaky.async_fail) == "answer"
        assert (
            await retry.call_with_retry(counted.async_call, counted.async_fail, with_failure_count=True)
            == "answer"
        )
        short = AsyncDeadlineRetry(ConstantBackoff(30), 10, command_timeout=1.0)
        short.checkout_started(SimpleNamespace(socket_timeout=5, socket_connect_timeout=5), time.monotonic())
        with pytest.raises(redis.ConnectionError):
            await short.call_with_retry(hopeless.async_call, hopeless.async_fail)
        with pytest.raises(redis.ConnectionError):
            await retry.call_with_retry(final.async_call, final.async_fail, is_retryable=lambda e: False)
        return [flaky.calls, counted.calls, hopeless.calls, final.calls]

    assert asyncio.run(scenario()) == [
        ["do", "fail()", "do", "fail()", "do"],
        ["do", "fail(1,)", "do"],
        ["do", "fail()"],
        ["do"],
    ]


def test_a_retry_with_a_deadline_is_kept_as_it_is() -> None:
    bounded = DeadlineRetry(NoBackoff(), 1, command_timeout=2.0)
    assert with_deadline(bounded, 5.0, derived=False) is bounded


@pytest.mark.parametrize("value", [0, -1, "1", float("nan"), True, 86_401])
def test_command_timeout_must_be_positive_seconds_or_none(value: Any) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_alias("cache", {"URL": "redis://127.0.0.1:6379/0", "COMMAND_TIMEOUT": value})
    assert str(raised.value) == (
        "REDIS_POOL['cache']['COMMAND_TIMEOUT'] must be a positive number of seconds, at most 86400 "
        f"(one day), or None, got {value!r}."
    )


def test_effective_command_timeout_given_derived_or_off(settings: Any) -> None:
    url = "redis://127.0.0.1:1/0"
    settings.REDIS_POOL = {
        "given": {"URL": url, "SOCKET_TIMEOUT": 5, "COMMAND_TIMEOUT": 1.5},
        "derived": {"URL": url, "SOCKET_TIMEOUT": 2, "SOCKET_CONNECT_TIMEOUT": 1},
        "off": {"URL": url, "SOCKET_TIMEOUT": 2, "COMMAND_TIMEOUT": None},
        "sentinel": {
            "SENTINELS": [("127.0.0.1", 1)],
            "SERVICE_NAME": "mymaster",
            "SOCKET_TIMEOUT": 2,
            "SOCKET_CONNECT_TIMEOUT": 2,
        },
        "cluster": {"CLUSTER": True, "URL": url, "SOCKET_TIMEOUT": 2},
    }
    limits = {alias: entry.limits for alias, entry in registry.entries().items()}
    assert {alias: limit.command_timeout for alias, limit in limits.items()} == {
        "given": 1.5,
        "derived": 3.0,
        "off": None,
        "sentinel": 4.0,
        "cluster": None,  # RedisCluster retries in its own loop: see W012
    }
    assert limits["given"].retries == limits["off"].retries  # redis-py's default retries, kept


# -- on the real server, through the proxy ------------------------------------------------------


@pytest.fixture
def proxy(redis_server: RedisServer, settings: Any) -> Iterator[FaultProxy]:
    """The 'default' alias behind a proxy, the README's timeouts, COMMAND_TIMEOUT 1, default retries."""
    with FaultProxy(("127.0.0.1", redis_server.port)) as running:
        settings.REDIS_POOL = {
            "default": {
                "URL": running.url(),
                "SOCKET_TIMEOUT": 5,
                "SOCKET_CONNECT_TIMEOUT": 5,
                "POOL_TIMEOUT": 5,
                "COMMAND_TIMEOUT": 1,
                # The deadline alone: with the breaker, the retries inside one refused call open it,
                # and the call after pass_through() would be refused until the breaker's probe.
                "CIRCUIT_BREAKER": False,
            }
        }
        yield running


FAULTS: dict[str, Callable[[FaultProxy], None]] = {
    "black-holed": FaultProxy.black_hole,
    "stalled": FaultProxy.stall,
    "refusing": FaultProxy.refuse,
}


def _seconds_to_fail(call: Callable[[], Any]) -> float:
    started = time.monotonic()
    with pytest.raises(FAILURES):
        call()
    return time.monotonic() - started


@pytest.mark.parametrize("fault", list(FAULTS))
def test_sync_call_on_a_failing_server_ends_within_the_deadline(proxy: FaultProxy, fault: str) -> None:
    client = get_redis()
    assert client.set("deadline:k", "v") is True  # a pooled connection is open when it fails
    FAULTS[fault](proxy)
    assert _seconds_to_fail(lambda: client.get("deadline:k")) < BOUND
    assert _seconds_to_fail(lambda: client.pipeline().get("deadline:k").incr("n").execute()) < BOUND
    proxy.pass_through()
    assert client.get("deadline:k") == b"v"  # and it recovers


@pytest.mark.parametrize("fault", list(FAULTS))
def test_async_call_on_a_failing_server_ends_within_the_deadline(proxy: FaultProxy, fault: str) -> None:
    async def scenario() -> tuple[float, float, Any]:
        client = get_async_redis()
        await client.set("deadline:k", "v")
        FAULTS[fault](proxy)
        started = time.monotonic()
        with pytest.raises(FAILURES):
            await client.get("deadline:k")
        one = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(FAILURES):
            await client.pipeline().get("deadline:k").incr("n").execute()
        pipeline = time.monotonic() - started
        proxy.pass_through()
        return one, pipeline, await client.get("deadline:k")

    one, pipeline, recovered = asyncio.run(scenario())
    assert (one < BOUND, pipeline < BOUND, recovered) == (True, True, b"v")


def test_a_new_connection_to_a_black_hole_shares_the_callers_budget(proxy: FaultProxy) -> None:
    proxy.black_hole()  # the checkout's connect (its handshake times out) and the command: one budget
    assert _seconds_to_fail(lambda: get_redis().ping()) < BOUND


def test_healthy_server_commands_under_the_budget_succeed(proxy: FaultProxy) -> None:
    client = get_redis()
    assert client.set("deadline:k", "v") is True
    assert client.blpop(["deadline:empty"], timeout=0.3) is None  # a slow command, under the budget
    assert client.pipeline().set("deadline:a", 1).get("deadline:a").execute() == [True, b"1"]
    assert client.get("deadline:k") == b"v"
    # A finished call leaves the configured timeouts on its idle connection, not the shortened ones.
    [connection] = client.connection_pool._available_connections
    assert (connection.socket_timeout, connection.socket_connect_timeout) == (5, 5)
    assert connection._sock.gettimeout() == 5


def test_a_command_longer_than_the_budget_times_out(proxy: FaultProxy) -> None:
    client = get_redis()
    assert _seconds_to_fail(lambda: client.blpop(["deadline:empty"], timeout=3)) < 3
    assert client.ping() is True  # the timed-out connection was dropped, a new one answers


def test_async_healthy_server_commands_under_the_budget_succeed(proxy: FaultProxy) -> None:
    async def scenario() -> list[Any]:
        client = get_async_redis()
        await client.set("deadline:k", "v")
        return [await client.blpop(["deadline:empty"], timeout=0.3), await client.get("deadline:k")]

    assert asyncio.run(scenario()) == [None, b"v"]


def test_pubsub_keeps_a_budget_per_call_not_per_checkout(proxy: FaultProxy) -> None:
    pubsub = get_redis().pubsub()
    pubsub.subscribe("deadline:channel")
    time.sleep(1.2)  # longer than COMMAND_TIMEOUT since the checkout
    assert get_redis().publish("deadline:channel", "hello") == 1
    messages = [pubsub.get_message(timeout=1) for _ in range(2)]
    assert [m["data"] for m in messages if m is not None] == [1, b"hello"]
    pubsub.close()


def test_without_a_proxy_the_socket_module_is_untouched() -> None:
    # The proxy's faults are its own sockets': a guard that the suite's timeouts are not global.
    assert socket.getdefaulttimeout() is None
