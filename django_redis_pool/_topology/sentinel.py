"""Sentinel aliases: redis-py's Sentinel pool on this app's pool classes, and a watcher of failovers.

redis-py's ``SentinelConnectionPool`` asks the sentinels for the master on every new connection and
drops a connection to an old master when it is released; an idle pooled connection keeps writing to
a demoted master, which accepts writes (then loses them) until the sentinels reconfigure it, seconds
later. Here a :class:`FailoverWatcher` listens to every sentinel's own announcements: when the
leader promotes a replica (``+failover-state-send-slaveof-noone``) the pool points at it and closes
its idle connections at once, so writes move within milliseconds; a write that reaches the replica
before its promotion completes fails with READONLY, which redis-py turns into a retried
``ConnectionError``, not a lost write.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import redis
from redis.connection import Connection, SSLConnection, parse_url
from redis.sentinel import Sentinel, SentinelConnectionPool

from .._conf.build_errors import BUILD_ERRORS, setting_error
from .._conf.settings import PoolSettings
from .._pool import compat
from .._pool.thread_driver import BlockingPool, NonBlockingPool, Pool
from .entry import PoolEntry, effective_limits, pool_arguments, side_arguments

logger = logging.getLogger("django_redis_pool")

Address = tuple[str, int]

# Sentinel publishes each event on a channel of its name.
PROMOTING = "+failover-state-send-slaveof-noone"
SWITCHED = "+switch-master"
ABORTED = "-failover-abort-*"


class SentinelPoolMixin(Pool):
    """Follows a :class:`FailoverWatcher`'s announcements before asking the sentinels."""

    service_name: str
    sentinel_manager: Sentinel
    is_master: bool
    _announced_master: Address | None = None
    _watcher: FailoverWatcher | None = None

    def get_master_address(self) -> Address:
        announced = self._announced_master
        found = self.sentinel_manager.discover_master(self.service_name)
        discovered: Address = (found[0], int(found[1]))
        if announced is not None:
            if discovered == announced:
                self._announced_master = None  # the sentinels have caught up
            else:
                discovered = announced
        self._follow(discovered)
        return discovered

    def _follow(self, address: Address) -> None:
        """Point new connections at ``address``; close idle ones to any other server."""
        if not self.is_master or compat.master_address(self) == address:
            return
        compat.set_master_address(self, address)
        # Under the pool lock, as redis-py does: once released, an idle connection may be checked
        # out by another thread, and closing it then would cut that thread's command short.
        self.disconnect_idle(lambda connection: (connection.host, connection.port) != address)
        logger.info("django_redis_pool: %r now uses master %s:%s", self, *address)

    def reset(self) -> None:
        super().reset()  # from SentinelConnectionPool.__init__ too, once its proxy exists
        compat.route_master_lookups(self)
        watcher = self._watcher
        if watcher is not None:
            watcher.ensure_running()  # a forked child: its own threads, on its first use

    def announce(self, address: Address | None) -> None:
        """Called by the watcher: a failover to ``address`` started (None: it was aborted)."""
        self._announced_master = address
        if address is not None:
            self._follow(address)
            self.close_breaker()  # a new master: the failures were the old one's


class SentinelBlockingPool(SentinelPoolMixin, SentinelConnectionPool, BlockingPool):
    """A Sentinel-managed, fair, blocking pool."""


class SentinelNonBlockingPool(SentinelPoolMixin, SentinelConnectionPool, NonBlockingPool):
    """A Sentinel-managed pool that raises at once when full."""


class FailoverWatcher:
    """One daemon thread per sentinel, subscribed to its failover announcements for one service.

    Threads do not survive a fork: :meth:`ensure_running` restarts them in a child on first use.
    """

    def __init__(
        self, pool: SentinelPoolMixin, sentinels: Sequence[Address], sentinel_kwargs: dict[str, Any]
    ) -> None:
        self.pool = pool
        self.sentinels = list(sentinels)
        self.sentinel_kwargs = dict(sentinel_kwargs)
        self.sentinel_kwargs.setdefault("socket_timeout", 5)
        self.sentinel_kwargs.setdefault("socket_connect_timeout", 5)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid = 0

    def ensure_running(self) -> None:
        if self._pid == os.getpid() or self._stop.is_set():
            return
        self._pid = os.getpid()
        self._threads = [
            threading.Thread(
                target=self._listen,
                args=(address,),
                name=f"django_redis_pool sentinel watcher {address[0]}:{address[1]}",
                daemon=True,
            )
            for address in self.sentinels
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self, address: Address) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            client = redis.Redis(host=address[0], port=address[1], **self.sentinel_kwargs)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(PROMOTING, SWITCHED)
                pubsub.psubscribe(ABORTED)
                backoff = 0.1
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self.handle(_text(message["channel"]), _text(message["data"]))
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                self._stop.wait(backoff)  # the sentinel is down: retry, bounded by stop()
                backoff = min(backoff * 2, 5.0)
            finally:
                pubsub.close()
                client.close()

    def handle(self, channel: str, data: str) -> None:
        """Act on one announcement (public for tests)."""
        parts = data.split()
        service = self.pool.service_name
        if channel == PROMOTING and len(parts) >= 8 and parts[5] == service:
            # "slave <name> <ip> <port> @ <service> <old-ip> <old-port>"
            self.pool.announce((parts[2], int(parts[3])))
        elif channel == SWITCHED and len(parts) == 5 and parts[0] == service:
            # "<service> <old-ip> <old-port> <new-ip> <new-port>"
            self.pool.announce((parts[3], int(parts[4])))
        elif channel.startswith("-failover-abort") and service in parts:
            self.pool.announce(None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SentinelEntry(PoolEntry):
    """A Sentinel-managed alias: one pool that follows the service's master (or its replicas)."""

    def connection_arguments(self) -> tuple[Any, dict[str, Any]]:
        kwargs = dict(compat.connection_kwargs(self.pool))
        kwargs.pop("connection_pool", None)
        ssl = issubclass(self.single_pool().connection_class, SSLConnection)
        return (SSLConnection if ssl else Connection), kwargs

    def sentinel_arguments(self) -> dict[str, Any]:
        return _sentinel_arguments(self.settings)

    def side_client(self, timeout: float) -> Any:
        """The service's master on one connection of its own (see :meth:`PoolEntry.side_client`)."""
        config = self.settings.sentinel
        assert config is not None
        sentinel_kwargs = {**self.sentinel_arguments(), "socket_timeout": timeout}
        sentinel_kwargs["socket_connect_timeout"] = timeout
        manager = Sentinel(list(config.sentinels), sentinel_kwargs=sentinel_kwargs)
        kwargs = side_arguments(_data_node_arguments(self.settings), timeout)
        ssl = kwargs.pop("ssl", False)
        pool = SentinelConnectionPool(config.service_name, manager, ssl=ssl, max_connections=1, **kwargs)
        return redis.Redis(connection_pool=pool)

    def close(self) -> None:
        self._stop_watcher()
        self.single_pool().disconnect()

    def retire(self) -> None:
        self._stop_watcher()
        super().retire()

    def _stop_watcher(self) -> None:
        watcher = getattr(self.pool, "_watcher", None)
        if watcher is not None:
            watcher.stop()


def _data_node_arguments(settings: PoolSettings) -> dict[str, Any]:
    """Credentials, database and TLS for the data nodes, from a host-less URL such as redis://:pw@/0."""
    values: dict[str, Any] = parse_url(settings.url)
    values.pop("host", None)
    values.pop("port", None)
    if values.pop("connection_class", None) is not None or settings.scheme == "rediss":
        values["ssl"] = True  # SentinelConnectionPool picks SentinelManagedSSLConnection
    return values


def _sentinel_arguments(settings: PoolSettings) -> dict[str, Any]:
    """SENTINEL_OPTIONS, with this alias's timeouts (or 5 s) unless it gives its own."""
    assert settings.sentinel is not None
    kwargs = dict(settings.sentinel.sentinel_kwargs)
    # Without timeouts, a stalled sentinel would stall every new connection (redis-py 5 has none).
    for keyword in ("socket_timeout", "socket_connect_timeout"):
        kwargs.setdefault(keyword, settings.kwargs.get(keyword) or 5.0)
    return kwargs


def build(settings: PoolSettings) -> SentinelEntry:
    """The pool and client of a Sentinel alias; the master's watcher starts (nothing else connects)."""
    assert settings.sentinel is not None
    config = settings.sentinel
    kwargs = {**pool_arguments(settings), **_data_node_arguments(settings)}
    ssl = kwargs.pop("ssl", False)
    pool_class = SentinelBlockingPool if settings.blocking else SentinelNonBlockingPool
    sentinel_kwargs = _sentinel_arguments(settings)
    manager = Sentinel(list(config.sentinels), sentinel_kwargs=sentinel_kwargs)
    try:
        pool = pool_class(config.service_name, manager, is_master=not config.is_replica, ssl=ssl, **kwargs)
        limits = effective_limits(
            settings, pool, SSLConnection if ssl else Connection, drop=("connection_pool",)
        )
    except BUILD_ERRORS as exc:
        raise setting_error(settings, exc) from None
    if not config.is_replica:
        pool._watcher = FailoverWatcher(pool, config.sentinels, sentinel_kwargs)
        pool._watcher.ensure_running()
    return SentinelEntry(settings, limits, pool, redis.Redis(connection_pool=pool))
