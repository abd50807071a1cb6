"""Where the snapshots live in Redis, and the reads and writes of them.

One string key per process, ``{<namespace>:fleet}:process:<host>:<pid>:<started>``, holding the JSON
snapshot with a TTL of a few intervals, and one sorted set ``{<namespace>:fleet}:processes`` of those
keys scored by when they expire, so a reader finds them without SCAN. Every key has the same hash
tag: on a Cluster alias they live in one slot, and one MGET reads the whole fleet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from .._conf.fleet import FleetSettings
from .._registry import sync as registry
from .snapshot import SCHEMA

# MGET this many snapshots per round trip.
CHUNK = 500
# A reader lists at most this many processes (a fleet of thousands is a bug to see, not to read).
MAX_PROCESSES = 10_000


class FleetRead(NamedTuple):
    snapshots: list[dict[str, Any]]
    skipped: list[str]


def _tag(settings: FleetSettings) -> str:
    return "{" + settings.namespace + ":fleet}"


def index_key(settings: FleetSettings) -> str:
    return f"{_tag(settings)}:processes"


def process_key(settings: FleetSettings, who: dict[str, Any]) -> str:
    return f"{_tag(settings)}:process:{who['host']}:{who['pid']}:{who['started']}"


def fleet_client(settings: FleetSettings, timeout: float) -> Any:
    """A client on the fleet alias with one connection of its own, every wait bounded by ``timeout``."""
    return registry.get_entry(settings.alias).side_client(timeout)


def write_snapshot(client: Any, settings: FleetSettings, document: dict[str, Any], now: float) -> None:
    """Store one process's snapshot (live for ``settings.ttl``) and list it in the index."""
    key = process_key(settings, document)
    ttl_ms = max(1, int(settings.ttl * 1000))
    index = index_key(settings)
    pipe = client.pipeline(transaction=False)
    pipe.set(key, json.dumps(document, separators=(",", ":")), px=ttl_ms)
    pipe.zadd(index, {key: now + settings.ttl})
    # The index forgets processes whose snapshot expired, and goes itself when every process has.
    pipe.zremrangebyscore(index, "-inf", now)
    pipe.pexpire(index, ttl_ms)
    pipe.execute()


def delete_snapshot(client: Any, settings: FleetSettings, who: dict[str, Any]) -> None:
    """Remove a process's snapshot at once (a clean shutdown) instead of waiting for its TTL."""
    key = process_key(settings, who)
    pipe = client.pipeline(transaction=False)
    pipe.delete(key)
    pipe.zrem(index_key(settings), key)
    pipe.execute()


def read_fleet(client: Any, settings: FleetSettings, now: float) -> FleetRead:
    """Every live snapshot (each with ``age_s``: seconds since it was published), sorted by host and
    pid, and a line for each one skipped (another schema, or not JSON)."""
    keys = [_text(k) for k in client.zrangebyscore(index_key(settings), now, "+inf", 0, MAX_PROCESSES)]
    snapshots: list[dict[str, Any]] = []
    skipped: list[str] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for key, raw in zip(chunk, client.mget(chunk), strict=True):
            if raw is None:
                continue  # expired between the two reads
            document, problem = parse_snapshot(raw)
            if document is None:
                skipped.append(f"{key}: {problem}")
                continue
            document["age_s"] = round(max(0.0, now - float(document["published"])), 3)
            snapshots.append(document)
    snapshots.sort(key=lambda d: (str(d["host"]), int(d["pid"]), float(d["started"])))
    return FleetRead(snapshots, skipped)


def parse_snapshot(raw: bytes | str) -> tuple[dict[str, Any] | None, str]:
    """(document, "") or (None, why it is skipped)."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not a snapshot (invalid JSON: {exc})"
    if not isinstance(document, dict):
        return None, "not a snapshot (not a JSON object)"
    schema = document.get("schema")
    if schema != SCHEMA:
        return None, f"snapshot schema {schema!r}, this version reads schema {SCHEMA} (skipped)"
    missing = [k for k in ("host", "pid", "started", "published", "pools") if k not in document]
    if missing or not isinstance(document["pools"], list):
        return None, f"not a snapshot (missing {', '.join(missing) or 'a list of pools'})"
    return document, ""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def keys_of(snapshots: Iterable[dict[str, Any]], settings: FleetSettings) -> list[str]:
    return [process_key(settings, s) for s in snapshots]
