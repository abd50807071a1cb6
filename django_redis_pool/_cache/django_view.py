"""``cache._cache``: what Django's ``RedisCache`` exposes of its client, for code (and Django's tests)
that reads it. Commands do not go through it: they go through ``cache.client``."""

from __future__ import annotations

from typing import Any, cast

from django.core.cache.backends.redis import RedisCacheClient

from .._registry import sync as registry
from .client import CacheClient


class SerializerView:
    """Django's ``RedisSerializer`` interface (``dumps``/``loads``) over the cache's codec."""

    def __init__(self, codec: Any) -> None:
        self._codec = codec

    def dumps(self, value: Any) -> bytes | int:
        return cast(bytes | int, self._codec.encode(value))

    def loads(self, raw: Any) -> Any:
        return self._codec.decode(raw)


class DjangoClientView(RedisCacheClient):
    """Django's ``RedisCacheClient`` attributes (``_servers``, ``_serializer``, ``get_client``...)
    answered from the cache's pools; its ``__init__`` (pools of its own) is not run."""

    def __init__(self, client: CacheClient) -> None:  # Django's __init__ would build pools of its own
        self._client = client
        self._servers = list(client._server)
        self._serializer = SerializerView(client._codec)

    def _get_connection_pool(self, write: bool) -> Any:
        index: int = cast(Any, self)._get_connection_pool_index(write)  # Django's, untyped in the stubs
        return registry.get_pool(self._servers[index])

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        return self._client.get_client(write=write)
