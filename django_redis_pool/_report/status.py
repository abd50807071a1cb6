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
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from .._conf.redaction import redact_text
from .._pool.naming import alias_matches, local_host, parse_client_name
from .._topology.entry import PoolEntry
from .stats import stats_of


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
    report: dict[str, Any] = {
        "kind": entry.kind,
        "url": entry.settings.safe_url,
        "pool_class": entry.pool_class_name,
        "client_name_prefix": entry.settings.client_name,
        "limits": limits_report(entry),
        "stats": stats_of(entry),
        "server": None,
        "sentinel": None,
        "nodes": None,
    }
    if not server:
        return report
    if entry.kind == "sentinel":
        report["sentinel"] = sentinel_report(entry, timeout)
        target = report["sentinel"]["target"]
        if target is None:
            report["server"] = {"reachable": False, "error": report["sentinel"]["error"]}
        else:
            report["server"] = server_report(entry, timeout, address=_address(target))
    elif entry.kind == "cluster":
        report["nodes"] = cluster_report(entry, timeout)
    else:
        report["server"] = server_report(entry, timeout)
    return report


def unreachable(report: dict[str, Any]) -> bool:
    """Whether a server of one alias's report could not be reached."""
    servers = [report["server"]] + [node["server"] for node in report["nodes"] or []]
    return any(server is not None and not server["reachable"] for server in servers)


def _status_client(entry: PoolEntry, timeout: float, address: tuple[str, int] | None = None) -> redis.Redis:
    # One connection of its own, with bounded timeouts (a readiness probe must not hang
    # on a dead host even where the pool has none) and no client name, so that it does
    # not count as a pooled connection in the listing it reads.
    connection_class, kwargs = entry.connection_arguments()
    kwargs.pop("client_name", None)
    if address is not None:
        kwargs.update(host=address[0], port=address[1])
    kwargs.update(socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
    pool = redis.ConnectionPool(connection_class=connection_class, max_connections=1, **kwargs)
    return redis.Redis(connection_pool=pool)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def sentinel_report(entry: Any, timeout: float) -> dict[str, Any]:
    """What each sentinel says of the service (its master, its replicas), and which server to check."""
    config = entry.settings.sentinel
    secrets = entry.settings.secret_values()
    kwargs = {**entry.sentinel_arguments(), "socket_timeout": timeout, "socket_connect_timeout": timeout}
    sentinels: list[dict[str, Any]] = []
    masters: list[str] = []
    replicas: set[tuple[str, str]] = set()
    errors: list[str] = []
    for host, port in config.sentinels:
        row: dict[str, Any] = {"address": f"{host}:{port}", "reachable": False, "master": None, "error": None}
        client = redis.Redis(host=host, port=port, decode_responses=True, **kwargs)
        try:
            state: Any = client.sentinel_master(config.service_name)
            row.update(reachable=True, master=f"{state['ip']}:{state['port']}")
            masters.append(row["master"])
            for replica in client.sentinel_slaves(config.service_name):
                flags = replica.get("flags", "")
                flags = ",".join(sorted(flags)) if isinstance(flags, list | set | tuple) else str(flags)
                replicas.add((f"{replica['ip']}:{replica['port']}", flags))
        except (RedisError, OSError, KeyError) as exc:
            row["error"] = redact_text(f"{type(exc).__name__}: {exc}", secrets)
            errors.append(row["error"])
        finally:
            client.close()
        sentinels.append(row)
    master = max(sorted(set(masters)), key=masters.count) if masters else None
    live = sorted(address for address, flags in replicas if "down" not in flags)
    target = (live[0] if live else master) if config.is_replica else master
    return {
        "service_name": config.service_name,
        "role": config.role,
        "master": master,
        "agreeing_sentinels": masters.count(master) if master else 0,
        "replicas": [{"address": address, "flags": flags} for address, flags in sorted(replicas)],
        "sentinels": sentinels,
        "target": target,
        "error": None if masters else "no sentinel answered: " + "; ".join(errors),
    }


def _slot_ranges(slots: list[int]) -> str:
    """Sorted slots as ``0-5460,5462``; "" for none (a replica, or a master not given slots yet)."""
    ranges: list[list[int]] = []
    for slot in slots:
        if ranges and ranges[-1][1] == slot - 1:
            ranges[-1][1] = slot
        else:
            ranges.append([slot, slot])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)


def cluster_report(entry: Any, timeout: float) -> list[dict[str, Any]]:
    """Every node of the cluster: role, the slots it serves as a primary (none for a replica, which
    names its primary in ``replica_of`` instead), this process's pool stats, and its server."""
    secrets = entry.settings.secret_values()
    try:
        client = entry.client  # the alias's own RedisCluster: built (and connected) on first use
    except (RedisError, RedisClusterException, OSError) as exc:
        error = redact_text(f"{type(exc).__name__}: {exc}", secrets)
        server = {"reachable": False, "error": error}
        node = {"node": entry.settings.safe_url, "role": None, "slots": "", "replica_of": None}
        return [{**node, "stats": None, "server": server}]
    owners: dict[str, list[int]] = {}
    primaries: dict[str, str] = {}
    # redis-py lists each slot's primary first, then its replicas.
    for slot, nodes in client.nodes_manager.slots_cache.items():
        primary, *replicas = nodes
        owners.setdefault(primary.name, []).append(slot)
        primaries.update((replica.name, primary.name) for replica in replicas)
    pools = entry.node_pools()
    rows = []
    for node in sorted(client.get_nodes(), key=lambda n: n.name):
        pool = pools.get(node.name)
        rows.append(
            {
                "node": node.name,
                "role": node.server_type,
                "slots": _slot_ranges(sorted(owners.get(node.name, []))),
                "replica_of": primaries.get(node.name),
                "stats": pool.stats() if pool is not None else None,
                "server": server_report(entry, timeout, address=(node.host, int(node.port))),
            }
        )
    return rows


def server_report(entry: PoolEntry, timeout: float, address: tuple[str, int] | None = None) -> dict[str, Any]:
    secrets = entry.settings.secret_values()
    client = _status_client(entry, timeout, address)
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
