"""What ``redis_pool_status`` adds to the report: the fleet read from Redis, and the advice."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from django_redis_pool._conf.fleet import FleetSettings
from django_redis_pool._conf.redaction import redact_text
from django_redis_pool._fleet import store
from django_redis_pool._fleet.advice import advise, server_of
from django_redis_pool._fleet.view import fleet_view, server_processes_of
from django_redis_pool._registry import sync as registry


def read_snapshots(settings: FleetSettings, timeout: float) -> store.FleetRead:
    """Every live snapshot, on a connection of its own bounded by ``timeout`` (raises RedisError)."""
    client = store.fleet_client(settings, timeout)
    try:
        return store.read_fleet(client, settings, time.time())
    finally:
        store.close_client(client)


def fleet_sections(
    report: Mapping[str, Any], settings: FleetSettings | None, timeout: float, with_advice: bool
) -> dict[str, Any]:
    """``fleet`` (None when REDIS_POOL_FLEET is not set or the read failed), ``fleet_error`` (why it
    failed, redacted) and ``advice`` (None without ``with_advice``) for the report's aliases."""
    pools = report["pools"]
    servers = {alias: server_processes_of(pool) for alias, pool in pools.items()}
    sections: dict[str, Any] = {"fleet": None, "fleet_error": None, "advice": None}
    if settings is not None:
        try:
            sections["fleet"] = fleet_view(read_snapshots(settings, timeout), list(pools), servers)
        except (RedisError, RedisClusterException, OSError) as exc:
            secrets = registry.get_entry(settings.alias).settings.secret_values()
            sections["fleet_error"] = redact_text(
                f"cannot read the fleet from alias {settings.alias!r}: {type(exc).__name__}: {exc}", secrets
            )
    if with_advice:
        # Without snapshots the rules that need none still run: the server's listing counts the processes.
        view = sections["fleet"] or fleet_view(store.FleetRead([], []), list(pools), servers)
        sections["advice"] = {
            alias: [
                item.as_dict()
                for item in advise(alias, view["aliases"][alias], pool["limits"], server_of(pool))
            ]
            for alias, pool in pools.items()
        }
    return sections
