"""One process-wide, bounded, observable Redis connection pool per alias for Django."""

from __future__ import annotations

from .conf import DEFAULT_ALIAS, PoolSettings
from .exceptions import PoolExhaustedError, UnknownAliasError
from .redaction import redact_url
from .registry import get_pool, get_redis, get_stats

__all__ = [
    "DEFAULT_ALIAS",
    "PoolExhaustedError",
    "PoolSettings",
    "UnknownAliasError",
    "get_pool",
    "get_redis",
    "get_stats",
    "redact_url",
]
__version__ = "0.1.0"
