"""The data behind ``manage.py redis_pool_status``: this process's pools and the server's view.

The JSON document (``--format json``) is exactly :func:`build_report`'s return value. One type per
key: durations and timeouts are float seconds (``*_ms``: milliseconds) or None, counts are int; the
server's CLIENT LIST gives whole seconds, kept as int.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from .entry import PoolEntry
from .naming import alias_matches, local_host, parse_client_name
from .redaction import redact_text


def build_report(entries: Iterable[PoolEntry], server: bool = True, timeout: float = 5.0) -> dict[str, Any]:
    return {
        "pools": {
            entry.settings.alias: pool_report(entry, server=server, timeout=timeout) for entry in entries
        }
    }


def _seconds(value: float | None) -> float | None:
    # A setting given as 5 and redis-py's default 5.0 must look the same in the JSON.
    return None if value is None else float(value)


def limits_report(entry: PoolEntry) -> dict[str, Any]:
    limits, settings = entry.limits, entry.settings
    retries, backoff = limits.retries, limits.retry_backoff
    return {
        "max_connections": int(limits.max_connections),
        "blocking": limits.blocking,
        "pool_timeout": _seconds(limits.pool_timeout),
        "socket_timeout": _seconds(limits.socket_timeout),
        "socket_connect_timeout": _seconds(limits.socket_connect_timeout),
        "max_lifetime": _seconds(settings.max_lifetime),
        "max_idle": _seconds(settings.max_idle),
        "leak_warning": _seconds(settings.leak_warning),
        "retries": None if retries is None else int(retries),
        "retry_backoff": None if backoff is None else str(backoff),
    }


def pool_report(entry: PoolEntry, server: bool, timeout: float) -> dict[str, Any]:
    return {
        "url": entry.settings.safe_url,
        "pool_class": type(entry.pool).__name__,
        "client_name_prefix": entry.settings.client_name,
        "limits": limits_report(entry),
        "stats": entry.pool.stats(),
        "server": server_report(entry, timeout) if server else None,
    }


def _status_client(entry: PoolEntry, timeout: float) -> redis.Redis:
    # One connection of its own, with bounded timeouts (a readiness probe must not hang
    # on a dead host even where the pool has none) and no client name, so that it does
    # not count as a pooled connection in the listing it reads.
    kwargs = dict(entry.pool.connection_kwargs)
    kwargs.pop("client_name", None)
    kwargs.update(socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
    pool = redis.ConnectionPool(connection_class=entry.pool.connection_class, max_connections=1, **kwargs)
    return redis.Redis(connection_pool=pool)


def server_report(entry: PoolEntry, timeout: float) -> dict[str, Any]:
    secrets = entry.settings.secret_values()
    client = _status_client(entry, timeout)
    try:
        started = time.perf_counter()
        client.ping()
        ping_ms = (time.perf_counter() - started) * 1000
        try:
            info, info_error = client.info(), None
        except ResponseError as exc:  # ACL, or a server without INFO (fakeredis)
            info, info_error = {}, redact_text(f"INFO is not available: {exc}", secrets)
        report: dict[str, Any] = {
            "reachable": True,
            "error": None,
            "info_error": info_error,
            "ping_ms": round(ping_ms, 3),
            "version": info.get("redis_version"),
            "role": info.get("role"),
            "connected_clients": info.get("connected_clients"),
            "maxclients": info.get("maxclients"),
        }
        report.update(_idle_timeout(client, entry, secrets))
        report.update(_processes(client, entry, secrets))
        return report
    except RedisError as exc:
        return {"reachable": False, "error": redact_text(f"{type(exc).__name__}: {exc}", secrets)}
    finally:
        client.close()
        client.connection_pool.disconnect()


NO_CLIENT_NAMES = (
    "CLIENT_NAME is None: pooled connections set no name on the server, so they cannot be told apart "
    "from other clients nor attributed to processes."
)


def _processes(client: redis.Redis, entry: PoolEntry, secrets: list[str]) -> dict[str, Any]:
    """``processes`` (None when they cannot be listed), ``processes_reason`` and ``client_list_error``."""
    if entry.settings.client_name is None:
        return {"processes": None, "processes_reason": NO_CLIENT_NAMES, "client_list_error": None}
    try:
        listing = client.client_list()
    except ResponseError as exc:
        error = redact_text(f"CLIENT LIST is not allowed: {exc}", secrets)
        return {"processes": None, "processes_reason": error, "client_list_error": error}
    return {
        "processes": group_by_process(listing, entry),
        "processes_reason": None,
        "client_list_error": None,
    }


def _idle_timeout(client: redis.Redis, entry: PoolEntry, secrets: list[str]) -> dict[str, Any]:
    """The server's ``timeout`` (it closes clients idle for longer; 0: never), and MAX_IDLE against it."""
    try:
        value = client.config_get("timeout").get("timeout")
        timeout = None if value is None else float(value)
        config_error = None if value is not None else "CONFIG GET timeout returned nothing."
    except ResponseError as exc:  # ACL (CONFIG is @admin), managed services, fakeredis
        timeout, config_error = None, redact_text(f"CONFIG GET timeout is not available: {exc}", secrets)
    warnings = []
    max_idle = entry.settings.max_idle
    if max_idle is not None and timeout and max_idle > timeout:
        warnings.append(
            f"MAX_IDLE ({max_idle:g}s) is longer than the server's timeout ({timeout:g}s): the server "
            "closes an idle connection before the pool would, and the pool finds it closed on its next "
            f"use. Set MAX_IDLE below {timeout:g}s."
        )
    return {"timeout": timeout, "config_error": config_error, "warnings": warnings}


def group_by_process(listing: list[dict[str, Any]], entry: PoolEntry) -> list[dict[str, Any]]:
    """Pooled connections of ``entry``'s alias in a CLIENT LIST, one row per (host, pid)."""
    prefix = entry.settings.client_name
    if prefix is None:
        return []
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for client in listing:
        name = parse_client_name(str(client.get("name", "")))
        if name is not None and alias_matches(entry.settings.alias, name, prefix):
            groups.setdefault((name.host, name.pid), []).append(client)
    me = (local_host(), os.getpid())
    rows = []
    for (host, pid), clients in sorted(groups.items()):
        idle = [int(c.get("idle", 0)) for c in clients]
        age = [int(c.get("age", 0)) for c in clients]
        rows.append(
            {
                "host": host,
                "pid": pid,
                "alias": entry.settings.alias,
                "connections": len(clients),
                "idle_seconds_min": min(idle),
                "idle_seconds_max": max(idle),
                "age_seconds_max": max(age),
                "this_process": (host, pid) == me,
            }
        )
    return rows
