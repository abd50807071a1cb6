"""Where the snapshots live in Redis, and the reads and writes of them.

One string key per process, ``{<namespace>:fleet}:process:<host>:<pid>:<started>``, holding the JSON
snapshot with a TTL of a few intervals, and one sorted set ``{<namespace>:fleet}:processes`` of those
keys scored by when they expire, so a reader finds them without SCAN. Every key has the same hash
tag: on a Cluster alias they live in one slot, and one MGET reads the whole fleet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .._conf.fleet import FleetSettings
from .._pool.counters import BREAKER_STATES, STATS_KEYS
from .._registry import sync as registry
from .snapshot import SCHEMA

# MGET this many snapshots per round trip.
CHUNK = 500
# A reader lists at most this many processes (a fleet of thousands is a bug to see, not to read).
MAX_PROCESSES = 10_000
# A snapshot's numbers stay within what a float holds exactly: a reader sums, compares and writes them
# again as JSON, which the page's JSON.parse must accept (no NaN, no Infinity).
MAX_NUMBER = 2.0**53
# The stats a reader computes with (an asyncio row's "loops" too); other keys are not read.
NUMERIC_STATS = (*(key for key in STATS_KEYS if key != "breaker_state"), "loops")


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


def close_client(client: Any) -> None:
    """Close a :func:`fleet_client` and its socket(s) now: ``close()`` alone leaves the socket of a
    client built on a pool of its own to the garbage collector (a ``RedisCluster`` has a pool per node,
    which ``close()`` does disconnect)."""
    client.close()
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        pool.disconnect()


def write_snapshot(client: Any, settings: FleetSettings, document: dict[str, Any], now: float) -> None:
    """Store one process's snapshot (live for ``settings.ttl``) and list it in the index."""
    key = process_key(settings, document)
    ttl_ms = max(1, int(settings.ttl * 1000))
    index = index_key(settings)
    pipe = client.pipeline(transaction=False)
    pipe.set(key, json.dumps(document, separators=(",", ":")), px=ttl_ms)
    pipe.zadd(index, {key: now + settings.ttl})
    # The index forgets processes whose snapshot expired, and goes itself when every process has. A TTL
    # late: by this process's clock, and a host whose clock runs ahead must not drop live entries.
    pipe.zremrangebyscore(index, "-inf", now - settings.ttl)
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
    # Every listed key, not those live by this reader's clock: the keys' TTL (the server's) decides.
    keys = list(client.zrangebyscore(index_key(settings), "-inf", "+inf", 0, MAX_PROCESSES))
    snapshots: list[dict[str, Any]] = []
    skipped: list[str] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for key, raw in zip(chunk, client.mget(chunk), strict=True):
            if raw is None:
                continue  # expired between the two reads
            document, problem = parse_snapshot(raw)
            if document is None:
                skipped.append(f"{_shown(key)}: {problem}")
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
    wrong = _wrong_value(document)
    if wrong:
        return None, f"not a snapshot (its {wrong})"
    return document, ""


def _number(value: Any) -> bool:
    # abs() <= MAX_NUMBER also refuses NaN, the infinities and ints too large for a float.
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= MAX_NUMBER


def _label(value: Any) -> bool:
    # Unicode is fine; control characters are not (they would reach a terminal as escape sequences).
    return isinstance(value, str) and value.isprintable()


def _wrong_value(document: Mapping[str, Any]) -> str:
    """What of a snapshot the readers could not use ("" when nothing): a wrong type, a non-finite or
    huge number, a label with control characters."""
    checks = [
        ("'host'", document["host"], _label, "printable text"),
        ("'pid'", document["pid"], lambda v: _number(v) and isinstance(v, int) and v >= 0, "an integer"),
        ("'started'", document["started"], _number, "a finite number"),
        ("'published'", document["published"], _number, "a finite number"),
    ]
    checks += [
        (repr(key), document[key], _label, "printable text") for key in ("role", "version") if key in document
    ]
    for index, pool in enumerate(document["pools"]):
        where = f"pools[{index}]"
        if not isinstance(pool, dict):
            return f"{where} is not an object"
        checks += [
            (f"{where}[{key!r}]", pool.get(key, ""), _label, "printable text")
            for key in ("alias", "node", "driver")
        ]
        stats = pool.get("stats")
        if not isinstance(stats, dict):
            return f"{where}['stats'] is not an object"
        checks += [
            (f"{where}['stats'][{key!r}]", stats[key], lambda v: v is None or _number(v), "a finite number")
            for key in NUMERIC_STATS
            if key in stats
        ]
        if "breaker_state" in stats:
            checks.append(
                (f"{where}['stats']['breaker_state']", stats["breaker_state"], _state, "a breaker state")
            )
    return next((f"{name} is not {what}" for name, value, ok, what in checks if not ok(value)), "")


def _state(value: Any) -> bool:
    return value in BREAKER_STATES


def _shown(key: bytes | str) -> str:
    """A key as a line may show it: anyone who can write to the server names keys, in any bytes."""
    text = key.decode(errors="backslashreplace") if isinstance(key, bytes) else key
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def keys_of(snapshots: Iterable[dict[str, Any]], settings: FleetSettings) -> list[str]:
    return [process_key(settings, s) for s in snapshots]
