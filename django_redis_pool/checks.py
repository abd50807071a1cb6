"""System checks on the effective pool configuration. No network I/O."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from django.core.checks import CheckMessage, Error, Warning

from ._cache.checks import check_cache_codecs as check_cache_codecs
from ._cache.checks import check_caches as check_caches
from ._conf.cache_places import is_cache_alias
from ._conf.keys import DEFAULT_POOL_TIMEOUT
from ._conf.paths import setting_path
from ._registry import sync as registry

if TYPE_CHECKING:
    from ._registry.sync import PoolEntry

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
    "django_redis_pool.W008",
    "django_redis_pool.W009",
    "django_redis_pool.W010",
    "django_redis_pool.W011",
    "django_redis_pool.W012",
    "django_redis_pool.E002",
    "django_redis_pool.E003",
    "django_redis_pool.E004",
)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    error = registry.build_error()
    if error is not None:
        return [
            Error(
                f"{'CACHES' if str(error).startswith('CACHES[') else 'REDIS_POOL'} is invalid: {error}",
                hint="Fix the setting; see the settings reference, docs/settings.md in django-redis-pool.",
                id="django_redis_pool.E001",
            )
        ]
    entries = registry.entries()
    if not entries:
        return [
            Warning(
                "django_redis_pool is installed but REDIS_POOL has no aliases: get_redis() will fail.",
                hint="Add a 'default' alias, e.g. REDIS_POOL = {'default': {'URL': "
                "'redis://127.0.0.1:6379/0'}}, or remove 'django_redis_pool' from INSTALLED_APPS.",
                id="django_redis_pool.W009",
            )
        ]
    messages: list[CheckMessage] = []
    for entry in entries.values():
        messages.extend(_check_entry(entry))
    messages.extend(_check_replica_aliases(list(entries.values())))
    return messages


def _check_replica_aliases(entries: list[PoolEntry]) -> list[CheckMessage]:
    """A Sentinel replica alias with no master alias for the same service: nothing can write."""
    masters = {
        (e.settings.sentinel.service_name, frozenset(e.settings.sentinel.sentinels))
        for e in entries
        if e.settings.sentinel is not None and not e.settings.sentinel.is_replica
    }
    messages: list[CheckMessage] = []
    for entry in entries:
        config = entry.settings.sentinel
        if config is None or not config.is_replica:
            continue
        if (config.service_name, frozenset(config.sentinels)) not in masters:
            where = setting_path(entry.settings.alias)
            messages.append(
                Warning(
                    f"{where} reads from the replicas of {config.service_name!r}, and no alias writes to its "
                    "master: replicas refuse writes, and their reads may lag behind the master's.",
                    hint=f"Add an alias with the same 'SENTINELS' and 'SERVICE_NAME' and no 'ROLE' for "
                    f"writes, or remove 'ROLE': 'replica' from {where}.",
                    id="django_redis_pool.W011",
                )
            )
    return messages


def _health_check_interval(entry: PoolEntry) -> float:
    # The effective value: a top-level key, OPTIONS and the URL's query all end up here.
    kwargs = getattr(entry.pool, "connection_kwargs", None) or entry.settings.kwargs
    return float(kwargs.get("health_check_interval") or 0)


def _place(entry: PoolEntry, key: str) -> str:
    """How a hint names a key: "'KEY' in REDIS_POOL['x']", or where a pool derived from CACHES took it."""
    alias = entry.settings.alias
    return setting_path(alias, key) if is_cache_alias(alias) else f"{key!r} in {setting_path(alias)}"


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
                f"{where} is a blocking pool with 'POOL_TIMEOUT': None: when every connection is busy, "
                "a caller waits forever for one to be released.",
                hint=f"Set {_place(entry, 'POOL_TIMEOUT')} to the seconds a request can wait, e.g. 5, or "
                f"remove it for the default of {DEFAULT_POOL_TIMEOUT:g}.",
                id="django_redis_pool.W003",
            )
        )
    if limits.max_connections > MAX_SANE_CONNECTIONS:
        messages.append(
            Warning(
                f"{where} allows {limits.max_connections} connections per process: effectively unbounded, "
                f"more than the server's default maxclients ({MAX_SANE_CONNECTIONS}) for one process.",
                hint=f"Set {_place(entry, 'MAX_CONNECTIONS')} to what one process needs "
                "(its threads, e.g. 10).",
                id="django_redis_pool.W004",
            )
        )
    max_lifetime = entry.settings.max_lifetime
    interval = _health_check_interval(entry)
    if max_lifetime is not None and interval > 0 and max_lifetime <= interval:
        # redis-py PINGs a connection only once it has been idle for longer than the interval;
        # a connection is never idle for longer than its age, and is closed at MAX_LIFETIME.
        messages.append(
            Warning(
                f"{where} has MAX_LIFETIME {max_lifetime:g}s, not longer than HEALTH_CHECK_INTERVAL "
                f"{interval:g}s: every connection is closed for age before it can have been idle for "
                "HEALTH_CHECK_INTERVAL, so its health check never runs.",
                hint=f"Set 'HEALTH_CHECK_INTERVAL' in {where} below MAX_LIFETIME (e.g. "
                f"{max_lifetime / 2:g}), or remove it if recycling connections by age is enough.",
                id="django_redis_pool.W010",
            )
        )
    messages.extend(_check_deadline(entry))
    return messages


def _check_deadline(entry: PoolEntry) -> list[CheckMessage]:
    """Retries that no COMMAND_TIMEOUT bounds: attempts x (timeouts + backoff) per call."""
    settings, limits, where = entry.settings, entry.limits, setting_path(entry.settings.alias)
    if settings.kind == "cluster":
        if settings.command_timeout_derived or settings.command_timeout is None:
            return []
        message = (
            f"{where} is a Cluster alias: its 'COMMAND_TIMEOUT' has no effect, because RedisCluster "
            "retries a command in its own loop, not through the connections' retry."
        )
        hint = (
            f"Remove 'COMMAND_TIMEOUT' from {where}; bound a call with 'SOCKET_TIMEOUT' and the "
            "'retry' of its 'OPTIONS' (attempts x timeouts)."
        )
    elif limits.command_timeout is not None or not limits.retries or limits.socket_timeout is None:
        return []  # bounded, no retries, or W001 says more
    else:
        attempt = (limits.socket_connect_timeout or limits.socket_timeout) + limits.socket_timeout
        message = (
            f"{where} retries a failed command {limits.retries} times and no COMMAND_TIMEOUT bounds "
            f"them: one call to a stalled or black-holed server can take {limits.retries + 1} attempts "
            f"of up to {attempt:g}s each ({(limits.retries + 1) * attempt:g}s), plus backoff."
        )
        hint = (
            f"Remove 'COMMAND_TIMEOUT': None from {where} (it defaults to {attempt:g}s, one attempt), "
            "or set the seconds one call may take in all."
            if not settings.command_timeout_derived
            else f"The 'retry' in {where}['OPTIONS'] is a subclass of redis-py's Retry, which "
            "COMMAND_TIMEOUT cannot bound: use redis.retry.Retry itself, or fewer retries."
        )
    return [Warning(message, hint=hint, id="django_redis_pool.W012")]


def _is_remote(host: str | None) -> bool:
    if host is None or host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name other than localhost


def _password_in_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # conf rejects such URLs; never guess at one here
        return False
    return bool(password) or any(key == "password" and value for key, value in parse_qsl(parts.query))


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
                    hint=f"Set {where}['OPTIONS'] = {{'username': ..., 'password': ...}} and require "
                    "them on the server (not in the URL: see django_redis_pool.W008).",
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
        if _password_in_url(settings.url):
            messages.append(
                Warning(
                    f"{where}['URL'] contains a password: Django's debug page and error e-mails show "
                    "settings in full unless a key's name looks secret, and 'URL' does not.",
                    hint=f"Move it to {where}['OPTIONS'] = {{'password': ...}} (and the user to "
                    "'username'), which Django hides because the key contains PASS; keep the URL "
                    "without userinfo, e.g. rediss://host:6380/0.",
                    id="django_redis_pool.W008",
                )
            )
    return messages
