"""The publisher: one daemon thread per process writing its snapshot every INTERVAL.

It starts on the first socket a pool of the process opens (``_pool.events``), so ``manage.py
check``, ``migrate`` and the status command publish nothing; a forked child starts its own on its
first connection; it stops with the pools (at exit, when the settings change). It writes on a
connection of its own (never one a request could wait for), never raises into the application,
logs a failing Redis once per outage and backs off, and at a clean exit removes its snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .._conf.fleet import FleetSettings, get_fleet_settings
from .._conf.redaction import redact_text
from .._pool import events
from .._registry import sync as registry
from .snapshot import build_snapshot, identity
from .store import close_client, delete_snapshot, fleet_client, write_snapshot

logger = logging.getLogger("django_redis_pool")

# Each socket operation of the publisher waits at most this long (and at most one interval).
MAX_TIMEOUT = 5.0
# While Redis fails, attempts space out by doubling up to this (or the interval, when longer).
MAX_BACKOFF = 30.0
# Publishing times are spread by this fraction of the interval, so workers started together do not
# write together forever.
JITTER = 0.1


class Publisher:
    def __init__(self, settings: FleetSettings) -> None:
        self.settings = settings
        self.timeout = min(MAX_TIMEOUT, max(settings.interval, 0.5))
        self.pid = os.getpid()
        self.who = identity()
        self.stopping = threading.Event()
        self.forget = False  # remove the snapshot when stopping: a clean exit
        self.client: Any = None
        self.published = 0
        self.failures = 0
        self.thread = threading.Thread(target=self.run, name="django_redis_pool fleet", daemon=True)

    @property
    def running(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive() and not self.stopping.is_set()

    def start(self) -> None:
        self.thread.start()

    def stop(self, forget: bool, wait: float | None = None) -> None:
        self.forget = forget
        self.stopping.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(self.timeout + 1.0 if wait is None else wait)

    def run(self) -> None:
        delay = 0.0  # the first snapshot at once: a new worker shows up without waiting
        while not self.stopping.wait(delay):
            delay = self.publish_once() * random.uniform(1 - JITTER, 1 + JITTER)
        self.retire()

    def publish_once(self) -> float:
        """Publish one snapshot; the seconds until the next attempt."""
        settings = self.settings
        try:
            if self.client is None:
                self.client = fleet_client(settings, self.timeout)
            now = time.time()
            write_snapshot(self.client, settings, build_snapshot(self.who, settings.interval, now), now)
        except Exception as exc:  # a down server, or anything else: never fatal, never raised
            self.close_client()
            self.failures += 1
            if self.failures == 1:
                logger.warning(
                    "django_redis_pool: cannot publish this process's pool snapshot to %r (%s); "
                    "retrying with backoff, quiet until it works again.",
                    settings.alias,
                    self.describe(exc),
                )
            # The first retry after one interval: a snapshot lives three, so one blip does not expire it.
            backoff: float = settings.interval * 2.0 ** min(self.failures - 1, 16)
            return min(backoff, max(settings.interval, MAX_BACKOFF))
        if self.failures:
            logger.warning(
                "django_redis_pool: publishing pool snapshots to %r again, after %d failed attempt(s).",
                settings.alias,
                self.failures,
            )
            self.failures = 0
        self.published += 1
        return settings.interval

    def describe(self, exc: BaseException) -> str:
        try:
            secrets = registry.get_entry(self.settings.alias).settings.secret_values()
        except Exception:  # the alias is gone (settings changed): nothing of it to print
            secrets = []
        return redact_text(f"{type(exc).__name__}: {exc}", secrets)

    def retire(self) -> None:
        if self.forget and self.client is not None and self.published:
            try:
                delete_snapshot(self.client, self.settings, self.who)
            except Exception:  # gone at exit anyway: the TTL removes it
                logger.debug("django_redis_pool: could not remove this process's snapshot", exc_info=True)
        self.close_client()

    def close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                close_client(client)
            except Exception:
                logger.debug("django_redis_pool: closing the fleet connection failed", exc_info=True)


_lock = threading.Lock()
_publisher: Publisher | None = None
_suppressed = False


def install() -> None:
    """Publish from this process once a pool connects, if REDIS_POOL_FLEET is set (no I/O here)."""
    try:
        settings = get_fleet_settings()
    except ImproperlyConfigured:  # reported by the checks and by get_redis(): nothing to publish
        settings = None
    if settings is None:
        events.unlisten_connected(_on_connected)
    else:
        events.listen_connected(_on_connected)


def _on_connected(alias: str) -> None:
    current = _publisher
    if current is None or not current.running:
        ensure_started()


def ensure_started() -> Publisher | None:
    """The running publisher of this process, started if needed; None when off or suppressed."""
    global _publisher
    with _lock:
        current = _publisher
        # Not installed: stopped with the pools (at exit, or until the rebuilt ones connect), though a
        # listener already called by another thread's new socket may still arrive here.
        if _suppressed or _on_connected not in events.connected_listeners:
            return None
        if current is not None and current.running:
            return current
        settings = get_fleet_settings()
        if settings is None:
            return None
        _publisher = Publisher(settings)
        _publisher.start()
        return _publisher


def current() -> Publisher | None:
    found = _publisher
    return found if found is not None and found.pid == os.getpid() else None


def stop(forget: bool = False) -> None:
    """Stop this process's publisher (``forget``: and remove its snapshot now); none starts again
    until :func:`install`."""
    global _publisher
    with _lock:
        events.unlisten_connected(_on_connected)
        found, _publisher = _publisher, None
    if found is not None and found.pid == os.getpid():
        found.stop(forget)


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Publish nothing from this process meanwhile (the status command: a reader, not a member of
    the fleet, though a Cluster report connects through the alias's pools)."""
    global _suppressed
    previous, _suppressed = _suppressed, True
    try:
        yield
    finally:
        _suppressed = previous


def _after_fork_in_child() -> None:
    global _lock, _publisher
    _lock = threading.Lock()  # the parent's may have been held by one of its threads
    _publisher = None  # its thread did not follow: the child starts its own on first connection


os.register_at_fork(after_in_child=_after_fork_in_child)
