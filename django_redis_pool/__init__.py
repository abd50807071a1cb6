"""One process-wide, bounded, observable Redis connection pool per alias for Django."""

from __future__ import annotations

from .asyncio_registry import aclose_pools, get_async_redis
from .exceptions import PoolExhaustedError, UnknownAliasError
from .registry import get_pool, get_redis, get_stats

# The public API is what the README documents; conf, redaction and naming are internal.
__all__ = [
    "PoolExhaustedError",
    "UnknownAliasError",
    "aclose_pools",
    "get_async_redis",
    "get_pool",
    "get_redis",
    "get_stats",
]
__version__ = "0.1.0"
