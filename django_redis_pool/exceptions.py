"""The errors this app raises."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError


class PoolExhaustedError(MaxConnectionsError):
    """Every connection of an alias's pool was busy: for longer than ``POOL_TIMEOUT``, or at all
    when the pool does not block.

    A ``redis.exceptions.MaxConnectionsError``, hence a ``redis.exceptions.ConnectionError``:
    code written for redis-py's own pools catches it unchanged.
    """

    def __init__(
        self, alias: str, max_connections: int, timeout: float | None, *, blocking: bool = True
    ) -> None:
        self.alias = alias
        self.max_connections = max_connections
        self.timeout = timeout
        self.blocking = blocking
        if blocking:
            message = (
                f"Redis pool {alias!r} is exhausted: all MAX_CONNECTIONS={max_connections} connections are "
                f"in use and the caller waited POOL_TIMEOUT={timeout}s for one to be released. Raise "
                "MAX_CONNECTIONS (within the server's maxclients) rather than POOL_TIMEOUT, or release "
                "connections sooner (close pipelines and pubsubs)."
            )
        else:
            message = (
                f"Redis pool {alias!r} is exhausted: all MAX_CONNECTIONS={max_connections} connections are "
                "in use and the pool does not wait ('BLOCKING': False). Raise MAX_CONNECTIONS, release "
                "connections sooner (close pipelines and pubsubs), or remove 'BLOCKING': False to wait "
                "up to POOL_TIMEOUT for one."
            )
        super().__init__(message)


class CircuitOpenError(RedisConnectionError):
    """The alias's circuit breaker is open: its last connection attempts failed, so the pool refuses
    at once, without touching a socket, until the next probe is due.

    A ``redis.exceptions.ConnectionError``: ``except ConnectionError`` clauses catch it unchanged.
    """

    def __init__(self, alias: str, failures: int, last_error: str, retry_in: float) -> None:
        self.alias = alias
        self.failures = failures
        self.last_error = last_error
        self.retry_in = retry_in
        when = f"in {retry_in:.2f}s" if retry_in > 0 else "now, by another caller"
        super().__init__(
            f"Redis pool {alias!r} is failing fast: its circuit breaker opened after {failures} connection "
            f"failure(s) in a row, the last {(last_error or 'unknown').rstrip('.')}. Nothing was sent; the "
            f"next attempt to connect is due {when}."
        )


class UnknownAliasError(ImproperlyConfigured):
    """``get_redis()``/``get_pool()``/``get_stats()`` was asked for an alias not in ``REDIS_POOL``."""


class NoSinglePoolError(ValueError):
    """``get_pool()`` was asked for a Cluster alias, which has one pool per node, not one pool."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        super().__init__(
            f"REDIS_POOL[{alias!r}] is a Cluster alias: it has one pool per node, so get_pool({alias!r}) "
            f"has no single pool to return. Use get_redis({alias!r}) for its client and "
            f"get_stats({alias!r}) for its counters (each node's under 'nodes')."
        )
