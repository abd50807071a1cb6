"""A bounded command on one of a pool's own connections: health probes and the metrics' CLIENT LIST."""

from __future__ import annotations

import os
import time
from typing import Any

from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import ResponseError as RedisResponseError
from redis.retry import Retry

from . import compat, errors

_monotonic = time.monotonic


def execute_within(
    pool: Any, timeout: float, args: tuple[Any, ...], expect: tuple[Any, ...]
) -> tuple[Any, float]:
    """Send ``args`` on one of ``pool``'s connections and read the reply, all within ``timeout``:
    (the raw reply, seconds taken). A reply not in ``expect`` (when given) means the connection
    was out of step: it is closed.

    The wait for a free connection, the connect (no retries) and every read are bounded by what is
    left of ``timeout``, on that connection only, whose own timeouts are restored before release.
    A connection that failed or timed out is closed (its reply may still come), never reused.
    """
    if pool.pid != os.getpid():
        compat.checkpid(pool)
    deadline = _monotonic() + timeout
    connection = pool._checkout(wait_limit=timeout)
    try:
        return _run(connection, deadline, args, expect)
    except (RedisError, OSError) as exc:
        if not isinstance(exc, RedisResponseError):
            with (
                pool._lock
            ):  # a probe that could not connect is no checkout (a failed connect counted itself)
                pool._policy.checkout_failed(errors.uncounted(exc))
        raise
    finally:
        pool.release(connection)


def _run(
    connection: Any, deadline: float, args: tuple[Any, ...], expect: tuple[Any, ...]
) -> tuple[Any, float]:
    saved = (connection.socket_timeout, connection.socket_connect_timeout, connection.retry)
    try:
        left = max(deadline - _monotonic(), 0.001)
        connection.socket_connect_timeout = left
        connection.retry = Retry(NoBackoff(), 0)
        compat.set_read_timeout(connection, left)
        started = _monotonic()
        connection.connect()  # nothing to do when it is open
        connection.send_command(*args)
        reply = connection.read_response()
        if expect and reply not in expect:
            raise RedisConnectionError(f"{args[0]} answered {reply!r}")
        return reply, _monotonic() - started
    except BaseException as exc:
        if not isinstance(exc, RedisResponseError):  # the reply was read whole: still in step
            connection.disconnect()
        raise
    finally:
        connection.socket_connect_timeout, connection.retry = saved[1], saved[2]
        compat.set_read_timeout(connection, saved[0])
