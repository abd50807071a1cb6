"""Hand-built fleet snapshots (the schema of ``_fleet.snapshot.build_snapshot``), for the pure tests of
the fleet view, the rates and the advisor, and for writing a fleet into a real server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django_redis_pool._pool.counters import STATS_KEYS


def pool(alias: str = "default", driver: str = "sync", node: str = "", **stats: Any) -> dict[str, Any]:
    """One pool row: every stats key 0 (``oldest_checkout_age_s`` None) unless given."""
    values: dict[str, Any] = dict.fromkeys(STATS_KEYS, 0)
    values.update(oldest_checkout_age_s=None, max_connections=10, breaker_state="closed")
    for key in ("wait_ms_total", "wait_ms_max", "wait_ms_p50", "wait_ms_p99", "wait_ms_window_max"):
        values[key] = 0.0
    values.update(stats)
    if driver == "asyncio":
        values.setdefault("loops", 1)
    return {"alias": alias, "node": node, "driver": driver, "stats": values}


def snapshot(
    pid: int,
    *pools: dict[str, Any],
    host: str = "web-1",
    started: float = 1764680000.25,
    published: float = 1764680010.5,
    role: str = "gunicorn",
    age_s: float = 1.5,
) -> dict[str, Any]:
    return {
        "schema": 1,
        "host": host,
        "pid": pid,
        "started": started,
        "role": role,
        "version": "0.9.0",
        "published": published,
        "interval": 10.0,
        "pools": list(pools),
        "age_s": age_s,
    }


@dataclass
class Read:
    """What ``store.read_fleet`` answers."""

    snapshots: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)
