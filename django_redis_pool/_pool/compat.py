"""Every read of redis-py's private state, in one place, each tested on the oldest and newest redis-py
the package supports (tests/test_compat.py): a redis-py release that renames one breaks one function
here, and its test says which.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import redis
from redis._parsers import helpers as _helpers

from .policy import PoolPolicy

# redis-py >= 5.1 re-authenticates released connections through these events (redis.event).
_events: Any = importlib.import_module("redis.event") if importlib.util.find_spec("redis.event") else None
AfterConnectionReleasedEvent: Any = getattr(_events, "AfterConnectionReleasedEvent", None)
AsyncAfterConnectionReleasedEvent: Any = getattr(_events, "AsyncAfterConnectionReleasedEvent", None)

# redis-py 8 closes connections that a maintenance notification marked, on release.
HAS_SHOULD_RECONNECT = hasattr(redis.Connection, "should_reconnect")
HAS_RELEASE_EVENTS = AfterConnectionReleasedEvent is not None


def _base_reset_replaces_the_lock() -> bool:
    """Whether redis-py's own ``ConnectionPool.reset()`` installs a new ``_lock`` (5.0: a plain Lock)."""
    probe = redis.ConnectionPool.__new__(redis.ConnectionPool)
    redis.ConnectionPool.reset(probe)
    return "_lock" in vars(probe)


# A plain Lock deadlocks when the GC runs a finalizer under it that releases into the pool
# (PubSub.__del__, Pipeline.__del__: redis-py issues 2883, 3081, 3289); our pools keep an RLock.
BASE_RESET_REPLACES_LOCK = _base_reset_replaces_the_lock()


def checkpid(pool: redis.ConnectionPool) -> None:
    """redis-py's fork check: a pool first used in a forked child resets itself, once."""
    pool._checkpid()


class RedisPyState:
    """redis-py's names for a pool's state (``_available_connections``, ``_in_use_connections``,
    ``_created_connections``), served from the pool's policy, so that redis-py's own methods
    (``disconnect``, ``set_retry``, re-authentication, maintenance notifications) see its state.
    redis-py's assignments to them (``reset()``, ``__init__``) are no-ops: the pool renews its policy."""

    _policy: PoolPolicy[Any, Any]

    @property
    def _available_connections(self) -> list[Any]:
        return self._policy.idle

    @_available_connections.setter
    def _available_connections(self, value: list[Any]) -> None:
        pass

    @property
    def _in_use_connections(self) -> set[Any]:
        return self._policy.in_use

    @_in_use_connections.setter
    def _in_use_connections(self, value: set[Any]) -> None:
        pass

    @property
    def _created_connections(self) -> int:
        return self._policy.connections

    @_created_connections.setter
    def _created_connections(self, value: int) -> None:
        pass  # redis-py's make_connection() counts; the policy counted the slot first


# -- connections -----------------------------------------------------------------------------


def is_open(connection: Any) -> bool:
    """Whether a sync connection holds a socket (``_sock``, from 5.x to 8.x)."""
    return getattr(connection, "_sock", None) is not None


def is_open_async(connection: Any) -> bool:
    """Whether an asyncio connection holds a stream (its public ``is_connected``)."""
    return bool(getattr(connection, "is_connected", False))


def on_connect(connection: Any, callback: Any) -> bool:
    """Have ``callback(connection)`` called on every (re)connect; False for a custom connection
    class without redis-py's callbacks (pooled all the same, but not counted)."""
    register = getattr(connection, "register_connect_callback", None)
    if register is None:
        return False
    register(callback)
    return True


def should_reconnect(connection: Any) -> bool:
    """redis-py 8: a maintenance notification marked the connection to be closed on release."""
    return HAS_SHOULD_RECONNECT and bool(connection.should_reconnect())


def expects_quiet(pool: Any) -> bool:
    """Whether a pooled connection must have nothing to read at checkout: redis-py 8 lets
    client-side caching and maintenance notifications push data unasked."""
    if getattr(pool, "cache", None) is not None:
        return False
    enabled = getattr(pool, "maint_notifications_enabled", None)
    return not (enabled is not None and enabled())


def set_read_timeout(connection: Any, timeout: float | None) -> None:
    """One connection's read timeout everywhere redis-py keeps it: the attribute (read at connect),
    the open socket, and the parser's copy, which the parser restores after every read with a
    timeout of its own (``can_read()``)."""
    connection.socket_timeout = timeout
    settimeout = getattr(getattr(connection, "_sock", None), "settimeout", None)
    if settimeout is not None:  # fakeredis's sockets have no timeout
        settimeout(timeout)
    parser: Any = getattr(connection, "_parser", None)
    if hasattr(parser, "_socket_timeout"):  # hiredis
        parser._socket_timeout = timeout
    buffer: Any = getattr(parser, "_buffer", None)
    if hasattr(buffer, "socket_timeout"):  # RESP2 and RESP3 in Python
        buffer.socket_timeout = timeout


def connection_kwargs(pool: Any) -> dict[str, Any]:
    """The keyword arguments a pool builds its connections with (its own dict: do not mutate)."""
    kwargs: dict[str, Any] = pool.connection_kwargs
    return kwargs


# -- release events (re-authentication) ------------------------------------------------------


def release_dispatcher(pool: Any) -> Any:
    """The pool's event dispatcher when redis-py dispatches release events, else None."""
    return getattr(pool, "_event_dispatcher", None) if HAS_RELEASE_EVENTS else None


def dispatch_released(dispatcher: Any, connection: Any) -> None:
    """What redis-py's pool does on release: re-authenticate the connection if a token changed."""
    dispatcher.dispatch(AfterConnectionReleasedEvent(connection))


async def dispatch_released_async(pool: Any, connection: Any) -> None:
    dispatcher = release_dispatcher(pool)
    if dispatcher is not None and hasattr(dispatcher, "dispatch_async"):
        await dispatcher.dispatch_async(AsyncAfterConnectionReleasedEvent(connection))


# -- retries ---------------------------------------------------------------------------------


def retry_count(retry: Any) -> int:
    """How many times a redis-py ``Retry`` retries (``get_retries()`` from 5.1, ``_retries`` before)."""
    getter = getattr(retry, "get_retries", None)
    return int(getter() if getter is not None else retry._retries)


def retry_backoff(retry: Any) -> Any:
    """A redis-py ``Retry``'s backoff object (``_backoff``, from 5.x to 8.x)."""
    return getattr(retry, "_backoff", None)


def retry_errors(retry: Any) -> tuple[type[Exception], ...]:
    """The errors a redis-py ``Retry`` retries on (``_supported_errors``, from 5.x to 8.x)."""
    errors: tuple[type[Exception], ...] = retry._supported_errors
    return errors


# -- Sentinel and Cluster ----------------------------------------------------------------------


def master_address(pool: Any) -> tuple[str, int] | None:
    """The master a Sentinel pool's connections go to (redis-py >= 5.1 keeps it on a proxy)."""
    proxy = getattr(pool, "proxy", None)
    address = proxy.master_address if proxy is not None else getattr(pool, "master_address", None)
    return None if address is None else (str(address[0]), int(address[1]))


def set_master_address(pool: Any, address: tuple[str, int]) -> None:
    proxy = getattr(pool, "proxy", None)
    if proxy is not None:
        proxy.master_address = address
    else:
        pool.master_address = address


def route_master_lookups(pool: Any) -> None:
    """redis-py >= 5.1: connections ask the pool's proxy, not the pool, for the master address."""
    proxy = getattr(pool, "proxy", None)
    if proxy is not None:
        proxy.get_master_address = pool.get_master_address


def cluster_needs_init(client: Any) -> bool:
    """Whether a ``redis.asyncio.cluster.RedisCluster`` has yet to read its slot map."""
    return bool(client._initialize)


def adopt(obj: Any, cls: type) -> None:
    """Make ``obj`` an instance of ``cls``, a subclass of its class adding methods only
    (``__slots__ = ()``): redis-py's asyncio ``NodesManager`` names ``ClusterNode`` when it makes nodes."""
    object.__setattr__(obj, "__class__", cls)


def unfree(node: Any, connection: Any) -> None:
    """Take ``connection`` off an asyncio ``ClusterNode``'s own free list (``_free``, from 5.x to 8.x),
    where redis-py 5.0 puts it back after a command (later versions call ``release()``)."""
    free = node._free
    if connection in free:
        free.remove(connection)


def parse_client_list(reply: Any) -> list[dict[str, Any]]:
    """``CLIENT LIST`` parsed as redis-py parses it (its parser lives in a private module)."""
    parse: Any = _helpers.parse_client_list
    listing: list[dict[str, Any]] = parse(reply)
    return listing
