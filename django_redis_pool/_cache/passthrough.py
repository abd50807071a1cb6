"""The set, hash and sorted-set methods of PooledRedisCache: ``cache.client``'s, with IGNORE_EXCEPTIONS."""

from __future__ import annotations

from typing import Any

from .ignore import omit_errors

# django-redis 7's RedisCache methods that only hand their arguments to its client.
PASSED_THROUGH = (
    *("sadd", "scard", "sdiff", "sdiffstore", "sinter", "sinterstore", "sismember", "smembers", "smove"),
    *("spop", "srandmember", "srem", "sscan", "sscan_iter", "smismember", "sunion", "sunionstore"),
    *("hset", "hdel", "hlen", "hkeys", "hexists"),
    *("zadd", "zcard", "zcount", "zincrby", "zpopmax", "zpopmin", "zrange", "zrangebyscore", "zrank"),
    *("zrem", "zremrangebyscore", "zrevrange", "zrevrangebyscore", "zscore"),
)


def _passed_through(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.client, name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"django-redis's ``{name}``: see ``cache.client.{name}``."
    return omit_errors()(method)


class PassedThrough:
    """Mixin of PooledRedisCache: ``cache.sadd(...)`` is ``cache.client.sadd(...)``."""

    client: Any


for _name in PASSED_THROUGH:
    setattr(PassedThrough, _name, _passed_through(_name))
