"""What the registry holds per alias: its settings, effective limits, pools and client.

Each kind of alias (single server, Sentinel, Cluster) has a builder module that returns one of
these; the registry, the checks and the status command ask the entry, never the settings keys.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any

import redis
from redis.retry import Retry

from .._conf.build_errors import BUILD_ERRORS, setting_error
from .._conf.settings import PoolSettings
from .._pool import compat, deadline
from .._pool.thread_driver import Pool


@dataclass(frozen=True)
class Limits:
    """What redis-py will actually use, whether or not the setting gave it."""

    socket_timeout: float | None
    socket_connect_timeout: float | None
    max_connections: int
    blocking: bool
    pool_timeout: float | None
    retries: int = 0
    retry_backoff: str | None = None
    # COMMAND_TIMEOUT in force (None: no deadline bounds the retries).
    command_timeout: float | None = None


class PoolEntry:
    """A single-server alias (and the base of the other kinds): one pool, one ``redis.Redis``."""

    def __init__(self, settings: PoolSettings, limits: Limits, pool: Pool | None, client: Any) -> None:
        self.settings = settings
        self.limits = limits
        self.pool = pool  # None for a Cluster alias: a pool per node
        self._client = client

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def client(self) -> Any:
        """The process-wide client: ``redis.Redis``, or ``redis.cluster.RedisCluster``."""
        return self._client

    @property
    def pool_class_name(self) -> str:
        return type(self.pool).__name__

    def connection_arguments(self) -> tuple[Any, dict[str, Any]]:
        """(connection class, keyword arguments) to open one connection of this alias's kind by hand,
        as ``redis_pool_status`` does; host and port are the caller's for the distributed kinds."""
        pool = self.single_pool()
        return pool.connection_class, dict(compat.connection_kwargs(pool))

    def side_client(self, timeout: float) -> Any:
        """A client of this alias on one connection of its own, outside the pool (not counted in its
        stats, no client name), every socket operation bounded by ``timeout``: for the fleet
        publisher and readers, which must never take a connection a request waits for."""
        connection_class, kwargs = self.connection_arguments()
        return redis.Redis(connection_pool=side_pool(connection_class, kwargs, timeout))

    def single_pool(self) -> Pool:
        assert self.pool is not None, "overridden where there is no single pool"
        return self.pool

    def node_pools(self) -> dict[str, Pool]:
        """Every pool of this alias, by the server it connects to ("" when that is not fixed)."""
        return {"": self.single_pool()}

    def stats(self) -> dict[str, Any]:
        return self.single_pool().stats()

    def close(self) -> None:
        self.single_pool().disconnect()

    def retire(self) -> None:
        """Replaced by a rebuild: no socket closes under a caller (``_pool/retire.py``)."""
        for pool in self.node_pools().values():
            pool.retire()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings.alias!r} {self.settings.safe_url!r}>"


def side_arguments(kwargs: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Connection arguments for a side connection: bounded timeouts, no name, no retries, bytes
    replies (its readers decode what they read themselves: a value that is not UTF-8 is theirs to
    skip, not an error of the whole reply)."""
    side = {k: v for k, v in kwargs.items() if k not in ("client_name", "retry", "connection_pool")}
    side.update(socket_timeout=timeout, socket_connect_timeout=timeout, retry=None, decode_responses=False)
    return side


def side_pool(connection_class: Any, kwargs: dict[str, Any], timeout: float) -> redis.ConnectionPool:
    return redis.ConnectionPool(
        connection_class=connection_class, max_connections=1, **side_arguments(kwargs, timeout)
    )


def default_retry() -> Retry | None:
    """A copy of the retry policy ``redis.Redis()`` has by default in the installed redis-py.

    A client built on a pool takes its retries from the pool's connection arguments, which have
    none unless given: without this, pooled clients would silently never retry (redis-py 8's
    ``redis.Redis()`` retries 10 times with exponential backoff; redis-py 5's not at all).
    """
    default = inspect.signature(redis.Redis.__init__).parameters["retry"].default
    return copy.deepcopy(default) if isinstance(default, Retry) else None


def describe_retry(retry: Any) -> tuple[int, str | None]:
    """(retries, backoff class name) of a connection's redis-py ``Retry`` object."""
    if retry is None:
        return 0, None
    backoff = compat.retry_backoff(retry)
    return compat.retry_count(retry), type(backoff).__name__ if backoff is not None else None


def pool_arguments(settings: PoolSettings) -> dict[str, Any]:
    """The keyword arguments of this app's pool classes for one alias, redis-py's included."""
    kwargs: dict[str, Any] = {
        "alias": settings.alias,
        "safe_url": settings.safe_url,
        "client_name_prefix": settings.client_name,
        "max_lifetime": settings.max_lifetime,
        "max_idle": settings.max_idle,
        "leak_warning": settings.leak_warning,
        "breaker": settings.breaker,
        **settings.kwargs,
    }
    if "retry" not in kwargs:
        kwargs["retry"] = default_retry()
    kwargs["retry"] = deadline.with_deadline(
        kwargs["retry"],
        settings.command_timeout,
        derived=settings.command_timeout_derived,
        retry_once=bool(kwargs.get("retry_on_timeout") or kwargs.get("retry_on_error")),
    )
    return kwargs


def effective_limits(
    settings: PoolSettings, pool: Pool, connection_class: Any = None, drop: tuple[str, ...] = ()
) -> Limits:
    """Build (never connect) one connection the way the pool would: this reads the installed
    redis-py's defaults and rejects bad OPTIONS before any request. ``connection_class`` and
    ``drop`` stand in for connection classes that need the pool itself (Sentinel's)."""
    connection_class = connection_class or pool.connection_class
    kwargs = {k: v for k, v in compat.connection_kwargs(pool).items() if k not in drop}
    try:
        probe = connection_class(**kwargs)
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc, kwargs, lambda rest: connection_class(**rest)) from None
    retry = getattr(probe, "retry", None)
    retries, backoff = describe_retry(retry)
    return Limits(
        socket_timeout=getattr(probe, "socket_timeout", None),
        socket_connect_timeout=getattr(probe, "socket_connect_timeout", None),
        max_connections=pool.max_connections,
        blocking=pool.blocking,
        pool_timeout=pool.timeout if pool.blocking else None,
        retries=retries,
        retry_backoff=backoff,
        command_timeout=retry.budget_for(probe) if deadline.is_bounded(retry) else None,
    )
