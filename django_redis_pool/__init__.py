"""One process-wide, bounded, observable Redis connection pool per alias for Django."""

from __future__ import annotations

from importlib.metadata import version

from ._cache.connection import get_redis_connection
from ._registry.loops import aclose_pools, get_async_redis
from ._registry.sync import get_pool, get_redis
from ._report import get_stats
from .exceptions import CircuitOpenError, NoSinglePoolError, PoolExhaustedError, UnknownAliasError

# The public API is what the README documents; conf, redaction and naming are internal.
__all__ = [
    "CircuitOpenError",
    "NoSinglePoolError",
    "PoolExhaustedError",
    "UnknownAliasError",
    "aclose_pools",
    "get_async_redis",
    "get_pool",
    "get_redis",
    "get_redis_connection",
    "get_stats",
]
# pyproject.toml is the one place the version is written.
__version__ = version("django-redis-pool")
