"""Health probes for load balancers and Kubernetes: PING every alias through its own pool.

``path("health/redis/", include("django_redis_pool.urls"))`` answers 200 when every alias asked for
(``?alias=a&alias=b``, or all of them) answers PING, 503 otherwise, with JSON per alias. A probe
borrows one of the alias's pooled connections, so probes never open a connection each; the PING is
bounded by ``REDIS_POOL_HEALTH_TIMEOUT`` (seconds, default 1) on that connection alone
(:meth:`django_redis_pool._pool.thread_driver.Pool.ping_within`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views import View
from redis.exceptions import RedisClusterException, RedisError

from ._conf.probes import health_timeout
from ._conf.redaction import redact_text
from ._registry import sync as registry
from ._report import stats_of
from .exceptions import UnknownAliasError

if TYPE_CHECKING:
    from ._registry.sync import PoolEntry


def _error(entry: PoolEntry, exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}", entry.settings.secret_values())


def ping_node(entry: PoolEntry, pool: Any, timeout: float) -> dict[str, Any]:
    """PING one server of an alias on a connection of its pool."""
    try:
        latency = pool.ping_within(timeout)
    except (RedisError, OSError) as exc:
        return {"reachable": False, "latency_ms": None, "error": _error(entry, exc)}
    return {"reachable": True, "latency_ms": round(latency * 1000, 3), "error": None}


def check_alias(entry: PoolEntry, timeout: float) -> dict[str, Any]:
    """One alias's probe: reachable, latency, a redacted error, its pool counters (and per node,
    for a Cluster alias: reachable only when every node answers)."""
    nodes: dict[str, dict[str, Any]] | None = None
    try:
        pools = _pools(entry)
    except (RedisError, RedisClusterException, OSError) as exc:  # a Cluster client could not start
        result = {"reachable": False, "latency_ms": None, "error": _error(entry, exc)}
    else:
        if entry.kind == "cluster":
            nodes = {name: ping_node(entry, pool, timeout) for name, pool in sorted(pools.items())}
            down = [name for name, node in nodes.items() if not node["reachable"]]
            latencies = [node["latency_ms"] for node in nodes.values() if node["latency_ms"] is not None]
            result = {
                "reachable": bool(nodes) and not down,
                "latency_ms": max(latencies) if latencies else None,
                "error": None if nodes and not down else _cluster_error(nodes, down),
            }
        else:
            result = ping_node(entry, pools[""], timeout)
    return {"kind": entry.kind, **result, "nodes": nodes, "stats": stats_of(entry)}


def _pools(entry: PoolEntry) -> dict[str, Any]:
    if entry.kind == "cluster":
        entry.client  # noqa: B018 - builds (and connects) the alias's RedisCluster on first use
    return entry.node_pools()


def _cluster_error(nodes: dict[str, dict[str, Any]], down: list[str]) -> str:
    if not nodes:
        return "The cluster client knows no nodes."
    return "; ".join(f"{name}: {nodes[name]['error']}" for name in down)


def check(aliases: Iterable[str] | None = None, timeout: float | None = None) -> dict[str, Any]:
    """The health report: ``{"status": "ok" | "unavailable", "pools": {alias: {...}}}``.

    Aliases are probed concurrently, so a stalled one costs ``timeout`` once, not once per alias.
    Raises :class:`UnknownAliasError` for an alias ``REDIS_POOL`` does not have.
    """
    timeout = health_timeout() if timeout is None else timeout
    if aliases is None:
        entries = registry.entries()
    else:
        entries = {alias: registry.get_entry(alias) for alias in dict.fromkeys(aliases)}
    if len(entries) > 1:
        with ThreadPoolExecutor(max_workers=len(entries), thread_name_prefix="redis-health") as executor:
            futures = {alias: executor.submit(check_alias, e, timeout) for alias, e in entries.items()}
            pools = {alias: future.result() for alias, future in futures.items()}
    else:
        pools = {alias: check_alias(e, timeout) for alias, e in entries.items()}
    healthy = bool(pools) and all(report["reachable"] for report in pools.values())
    return {"status": "ok" if healthy else "unavailable", "pools": pools}


class HealthView(View):
    """200 when every alias (or each ``?alias=``) answers PING through its pool, 503 otherwise.

    ``HealthView.as_view(timeout=0.5, aliases=["default"])`` overrides the setting and the aliases.
    """

    http_method_names = ("get", "head", "options")
    timeout: float | None = None
    aliases: Sequence[str] | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        aliases = request.GET.getlist("alias") or self.aliases
        started = time.perf_counter()
        try:
            report = check(aliases, timeout=self.timeout)
        except UnknownAliasError as exc:
            return self._respond({"status": "error", "error": str(exc)}, 404)
        except ImproperlyConfigured as exc:  # REDIS_POOL is invalid, or the app has not set up
            return self._respond({"status": "unavailable", "error": str(exc)}, 503)
        report["took_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return self._respond(report, 200 if report["status"] == "ok" else 503)

    def _respond(self, body: dict[str, Any], status: int) -> JsonResponse:
        response = JsonResponse(body, status=status)
        add_never_cache_headers(response)  # a cached "ok" from a proxy would hide an outage
        return response
