"""A CACHES entry written the way django-redis's README writes it, on PooledRedisCache (tests' helper)."""

from __future__ import annotations

from typing import Any

BACKEND = "django_redis_pool.cache.PooledRedisCache"
TIMEOUTS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5}
POOL = {"CONNECTION_POOL_KWARGS": {"max_connections": 10, "timeout": 5}}


def django_redis_cache(location: Any, **options: Any) -> dict[str, Any]:
    """A CACHES entry as django-redis's README writes it, on this backend."""
    return {
        "BACKEND": BACKEND,
        "LOCATION": location,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", **TIMEOUTS, **POOL, **options},
    }
