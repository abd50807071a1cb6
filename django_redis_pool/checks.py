"""System checks on the effective pool configuration. No network I/O."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from . import registry
from .conf import setting_path
from .registry import PoolEntry

# The server's default maxclients: one process should never want more than that.
MAX_SANE_CONNECTIONS = 10_000

ALL_IDS = (
    "django_redis_pool.E001",
    "django_redis_pool.W001",
    "django_redis_pool.W002",
    "django_redis_pool.W003",
    "django_redis_pool.W004",
    "django_redis_pool.W005",
    "django_redis_pool.W006",
    "django_redis_pool.W007",
)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    error = registry.build_error()
    if error is not None:
        return [
            Error(
                f"REDIS_POOL is invalid: {error}",
                hint="Fix the setting; see the settings reference in django-redis-pool's README.",
                id="django_redis_pool.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for entry in registry.entries().values():
        messages.extend(_check_entry(entry))
    return messages


def _check_entry(entry: PoolEntry) -> list[CheckMessage]:
    where, limits = setting_path(entry.settings.alias), entry.limits
    messages: list[CheckMessage] = []
    if limits.socket_timeout is None:
        messages.append(
            Warning(
                f"{where} has no socket timeout: a command to a stalled server can block a worker forever.",
                hint=f"Set 'SOCKET_TIMEOUT': 5 in {where}.",
                id="django_redis_pool.W001",
            )
        )
    if limits.socket_connect_timeout is None:
        messages.append(
            Warning(
                f"{where} has no connect timeout: connecting to an unreachable server can block a worker "
                "until the operating system gives up (minutes).",
                hint=f"Set 'SOCKET_CONNECT_TIMEOUT': 5 in {where}.",
                id="django_redis_pool.W002",
            )
        )
    if limits.blocking and limits.pool_timeout is None:
        messages.append(
            Warning(
                f"{where} is a blocking pool with no POOL_TIMEOUT: when every connection is busy, a "
                "caller waits forever for one to be released.",
                hint=f"Set 'POOL_TIMEOUT': 5 in {where}.",
                id="django_redis_pool.W003",
            )
        )
    if limits.max_connections > MAX_SANE_CONNECTIONS:
        messages.append(
            Warning(
                f"{where} allows {limits.max_connections} connections per process: effectively unbounded, "
                f"more than the server's default maxclients ({MAX_SANE_CONNECTIONS}) for one process.",
                hint=f"Set 'MAX_CONNECTIONS' in {where} to what one process needs (its threads, e.g. 10).",
                id="django_redis_pool.W004",
            )
        )
    return messages


def _is_remote(host: str | None) -> bool:
    if host is None or host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name other than localhost


def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for entry in registry.entries().values():
        settings, where = entry.settings, setting_path(entry.settings.alias)
        if settings.scheme == "redis" and _is_remote(settings.host):
            messages.append(
                Warning(
                    f"{where} connects to {settings.host} in plaintext: passwords and data cross the "
                    "network unencrypted.",
                    hint=f"Use a rediss:// URL in {where}['URL'] (TLS).",
                    id="django_redis_pool.W005",
                )
            )
        if _is_remote(settings.host) and not settings.has_credentials():
            messages.append(
                Warning(
                    f"{where} connects to {settings.host} with no password or ACL user.",
                    hint=f"Put the user and password in {where}['URL'] "
                    "(rediss://user:password@host:6379/0) and require them on the server.",
                    id="django_redis_pool.W006",
                )
            )
        if settings.scheme == "fakeredis":
            messages.append(
                Warning(
                    f"{where} uses the in-process fakeredis backend: every worker process has its own "
                    "private data and nothing is persisted.",
                    hint=f"Point {where}['URL'] at a real Redis server in production.",
                    id="django_redis_pool.W007",
                )
            )
    return messages
