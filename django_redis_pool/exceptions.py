"""The errors this app raises."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError


class PoolExhaustedError(RedisConnectionError):
    """Every connection of an alias's pool was busy for longer than its ``POOL_TIMEOUT``."""

    def __init__(self, alias: str, max_connections: int, timeout: float | None) -> None:
        self.alias = alias
        self.max_connections = max_connections
        self.timeout = timeout
        if timeout is None:
            waited = "the pool is not blocking ('BLOCKING': False), so it raised at once"
        else:
            waited = f"waited POOL_TIMEOUT={timeout}s for one to be released"
        super().__init__(
            f"Redis pool {alias!r} is exhausted: all MAX_CONNECTIONS={max_connections} "
            f"connections are in use and the caller {waited}. Raise MAX_CONNECTIONS or "
            "POOL_TIMEOUT, or release connections sooner (close pipelines and pubsubs)."
        )


class UnknownAliasError(ImproperlyConfigured):
    """``get_redis()``/``get_pool()``/``get_stats()`` was asked for an alias not in ``REDIS_POOL``."""
