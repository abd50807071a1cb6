"""IGNORE_EXCEPTIONS: a cache that keeps serving when Redis is down (django-redis's meaning).

With it, a command that fails because the server cannot be reached (or replies with an error)
returns what a miss returns: ``get`` its default, ``get_many`` ``{}``, any other method ``None`` (a
write is dropped). Each one is counted per CACHES alias for this process
(``cache.ignored_exceptions``) and, with ``DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS``, logged on
``DJANGO_REDIS_LOGGER`` (default ``django_redis_pool.cache``) with its traceback. Messages carry
redis-py's text, which names the host and port, never a password.
"""

from __future__ import annotations

import functools
import inspect
import socket
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis

# What django-redis turns into ConnectionInterrupted, which its IGNORE_EXCEPTIONS swallows.
IGNORED_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, socket.timeout)
DEFAULT_LOGGER = "django_redis_pool.cache"

F = TypeVar("F", bound=Callable[..., Any])
_lock = threading.Lock()
_counts: Counter[str] = Counter()


def ignored_count(name: str) -> int:
    """How many errors the cache CACHES[name] has ignored in this process."""
    with _lock:
        return _counts[name]


def _handled(cache: Any, exc: Exception) -> bool:
    """Whether ``exc`` is ignored (counted and logged); otherwise it gains a note naming the cache."""
    if isinstance(exc, IGNORED_ERRORS) and cache._ignore_exceptions:
        with _lock:
            _counts[cache._name or ""] += 1
        if cache._log_ignored_exceptions:
            cache.logger.error("Exception ignored", exc_info=exc)
        return True
    if isinstance(exc, redis.RedisError):
        exc.add_note(f"in {cache._describe()}")
    return False


def _no_value(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    return None


def omit_errors(on_error: Callable[[tuple[Any, ...], dict[str, Any]], Any] = _no_value) -> Callable[[F], F]:
    """Wrap a cache method: with IGNORE_EXCEPTIONS an error gives ``on_error(args, kwargs)``."""

    def decorate(method: F) -> F:
        if inspect.iscoroutinefunction(method):

            @functools.wraps(method)
            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(self, *args, **kwargs)
                except (*IGNORED_ERRORS, redis.RedisError) as exc:
                    if not _handled(self, exc):
                        raise
                    return on_error(args, kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (*IGNORED_ERRORS, redis.RedisError) as exc:
                if not _handled(self, exc):
                    raise
                return on_error(args, kwargs)

        return cast(F, wrapper)

    return decorate


def default_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``get(key, default=None, ...)``'s default, given by position or by name."""
    return args[1] if len(args) > 1 else kwargs.get("default")


def empty_dict(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
    return {}
