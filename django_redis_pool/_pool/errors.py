"""Failed connects of pooled connections: counted once, named after the alias, without credentials.

Every pooled connection's ``connect`` (and redis-py 8's ``connect_check_health``, which a command's
retry loop calls to reconnect mid-command) is watched: a failure counts in the pool's
``connection_errors`` and reaches the caller as an exception of the same class (so ``except``
clauses keep working) whose message begins with the alias, ``REDIS_POOL['default']: Error 111
connecting to ...``. Its cause is redis-py's original exception without its traceback: redis-py's
frames of a failed handshake hold the credentials in their locals (``auth_args``), and Django's
technical 500 page shows every frame's locals, of the chained exceptions too.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from . import compat
from .breaker import describe

_WATCHED = ("connect", "connect_check_health")  # the second: redis-py >= 6 reconnects through it
_SECRET_KEYWORDS = ("password", "ssl_password")


def where(alias: str) -> str:
    """How an error names its pool: ``REDIS_POOL['cache']``, or a cache's own ``CACHES['default']``."""
    return alias if alias.startswith("CACHES[") else f"REDIS_POOL[{alias!r}]"


def uncounted(exc: BaseException) -> bool:
    """Whether ``exc`` is a connection failure that no watched connect has counted yet."""
    return isinstance(exc, RedisError | OSError) and not getattr(exc, "counted", False)


def named(pool: Any, exc: RedisError) -> RedisError:
    """``exc`` as the same class, its message prefixed with the pool's alias and redacted."""
    message = f"{where(pool.alias)}: {exc}"
    kwargs = compat.connection_kwargs(pool)
    for secret in (kwargs.get(keyword) for keyword in _SECRET_KEYWORDS):
        if isinstance(secret, str) and secret:
            message = message.replace(secret, "***")
    # __new__ without __init__: any error class, whatever its constructor takes; its attributes kept.
    renamed = type(exc).__new__(type(exc), message, *exc.args[1:])
    vars(renamed).update(vars(exc))
    return renamed


def watch_connects(pool: Any, connection: Any, on_connect: Callable[[Any], None], lock: Any) -> None:
    """Have ``on_connect(connection)`` called on every (re)connect, and every failed one counted
    (under ``lock`` when given) and re-raised named."""
    compat.on_connect(connection, on_connect)
    inside = [False]  # a watched connect calling another: the outer one counts and names
    for name in _WATCHED:
        method = getattr(connection, name, None)
        if method is not None:
            wrap = _watched_async if inspect.iscoroutinefunction(method) else _watched
            setattr(connection, name, wrap(method, pool, lock, inside))


def _failed(pool: Any, lock: Any, exc: RedisError) -> RedisError:
    renamed = named(pool, exc)
    # Counted, and told to the circuit breaker, as the caller will see it: named, no secret in it.
    if lock is None:
        pool._policy.connect_failed(time.monotonic(), describe(renamed))
    else:
        with lock:
            pool._policy.connect_failed(time.monotonic(), describe(renamed))
    vars(renamed)["counted"] = True  # what uncounted() reads, where the checkout fails with it
    return renamed


def _watched(method: Any, pool: Any, lock: Any, inside: list[bool]) -> Any:
    @functools.wraps(method)
    def connect(*args: Any, **kwargs: Any) -> Any:
        if inside[0]:
            return method(*args, **kwargs)
        inside[0] = True
        try:
            return method(*args, **kwargs)
        except RedisError as exc:
            raise _failed(pool, lock, exc) from exc.with_traceback(None)
        finally:
            inside[0] = False

    return connect


def _watched_async(method: Any, pool: Any, lock: Any, inside: list[bool]) -> Any:
    @functools.wraps(method)
    async def connect(*args: Any, **kwargs: Any) -> Any:
        if inside[0]:
            return await method(*args, **kwargs)
        inside[0] = True
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise _failed(pool, lock, exc) from exc.with_traceback(None)
        finally:
            inside[0] = False

    return connect
