"""django-redis's sorted-set commands: members encoded like cache values (ints too), scores as given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SortedSetCommands:
    """``zadd``... methods of ``cache.client``; see CacheClient."""

    # CacheClient's (this is one of its mixins).
    _read: Callable[[Any], Any]
    _write: Callable[[Any], Any]
    make_key: Callable[..., Any]
    encode: Callable[..., bytes | int]
    decode: Callable[[Any], Any]

    def _member(self, value: Any) -> Any:
        return self.encode(value, allow_int=False)

    def _members(self, result: Any, withscores: bool) -> list[Any]:
        if withscores:
            return [(self.decode(member), score) for member, score in result]
        return [self.decode(member) for member in result]

    def _popped(self, result: Any, count: int | None) -> Any:
        if not result:
            return None if count is None else []
        decoded = self._members(result, withscores=True)
        return decoded[0] if count is None else decoded

    def zadd(
        self,
        key: Any,
        mapping: dict[Any, float],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
        version: int | None = None,
        client: Any = None,
    ) -> Any:
        encoded = {self._member(member): score for member, score in mapping.items()}
        return self._write(client).zadd(
            self.make_key(key, version=version), encoded, nx=nx, xx=xx, ch=ch, incr=incr, gt=gt, lt=lt
        )

    def zcard(self, key: Any, version: int | None = None, client: Any = None) -> int:
        return int(self._read(client).zcard(self.make_key(key, version=version)))

    def zcount(self, key: Any, min: Any, max: Any, version: int | None = None, client: Any = None) -> int:
        return int(self._read(client).zcount(self.make_key(key, version=version), min, max))

    def zincrby(
        self, key: Any, amount: float, value: Any, version: int | None = None, client: Any = None
    ) -> Any:
        return self._write(client).zincrby(self.make_key(key, version=version), amount, self._member(value))

    def zpopmax(
        self, key: Any, count: int | None = None, version: int | None = None, client: Any = None
    ) -> Any:
        return self._popped(self._write(client).zpopmax(self.make_key(key, version=version), count), count)

    def zpopmin(
        self, key: Any, count: int | None = None, version: int | None = None, client: Any = None
    ) -> Any:
        return self._popped(self._write(client).zpopmin(self.make_key(key, version=version), count), count)

    def zrange(
        self,
        key: Any,
        start: int,
        end: int,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: type = float,
        version: int | None = None,
        client: Any = None,
    ) -> list[Any]:
        result = self._read(client).zrange(
            self.make_key(key, version=version),
            start,
            end,
            desc=desc,
            withscores=withscores,
            score_cast_func=score_cast_func,
        )
        return self._members(result, withscores)

    def zrangebyscore(
        self,
        key: Any,
        min: Any,
        max: Any,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: type = float,
        version: int | None = None,
        client: Any = None,
    ) -> list[Any]:
        result = self._read(client).zrangebyscore(
            self.make_key(key, version=version),
            min,
            max,
            start=start,
            num=num,
            withscores=withscores,
            score_cast_func=score_cast_func,
        )
        return self._members(result, withscores)

    def zrank(
        self, key: Any, value: Any, withscore: bool = False, version: int | None = None, client: Any = None
    ) -> Any:
        client = self._read(client)
        if withscore:
            return client.zrank(self.make_key(key, version=version), self._member(value), withscore=True)
        return client.zrank(self.make_key(key, version=version), self._member(value))

    def zrem(self, key: Any, *values: Any, version: int | None = None, client: Any = None) -> int:
        members = [self._member(value) for value in values]
        return int(self._write(client).zrem(self.make_key(key, version=version), *members))

    def zremrangebyscore(
        self, key: Any, min: Any, max: Any, version: int | None = None, client: Any = None
    ) -> int:
        return int(self._write(client).zremrangebyscore(self.make_key(key, version=version), min, max))

    def zrevrange(
        self,
        key: Any,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: type = float,
        version: int | None = None,
        client: Any = None,
    ) -> list[Any]:
        result = self._read(client).zrevrange(
            self.make_key(key, version=version),
            start,
            end,
            withscores=withscores,
            score_cast_func=score_cast_func,
        )
        return self._members(result, withscores)

    def zrevrangebyscore(
        self,
        key: Any,
        max: Any,
        min: Any,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: type = float,
        version: int | None = None,
        client: Any = None,
    ) -> list[Any]:
        result = self._read(client).zrevrangebyscore(
            self.make_key(key, version=version),
            max,
            min,
            start=start,
            num=num,
            withscores=withscores,
            score_cast_func=score_cast_func,
        )
        return self._members(result, withscores)

    def zscore(self, key: Any, value: Any, version: int | None = None, client: Any = None) -> Any:
        return self._read(client).zscore(self.make_key(key, version=version), self._member(value))
