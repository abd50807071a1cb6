"""``get_redis_connection()``: django-redis's helper, with its signature, on this app's pools."""

from __future__ import annotations

from typing import cast

import redis
from django.core.cache import caches


def get_redis_connection(alias: str = "default", write: bool = True) -> redis.Redis:
    """The pooled ``redis.Redis`` behind the cache ``CACHES[alias]``: its primary's (``write=True``)
    or a replica's. Raises NotImplementedError for a backend without django-redis's client API."""
    client = getattr(caches[alias], "client", None)
    get_client = getattr(client, "get_client", None)
    if get_client is None:
        raise NotImplementedError(
            f"CACHES[{alias!r}] is not a PooledRedisCache (or django-redis cache): it has no pooled client."
        )
    return cast(redis.Redis, get_client(write))
