"""Pools -> stats: ``get_stats()``, and the rows the status command, health and metrics show."""

from __future__ import annotations

import os
from typing import Any

from .._pool import compat
from .._pool.counters import Snapshot, summarize
from .._pool.naming import local_host
from .._registry import loops
from .._registry import sync as registry
from .._topology.cluster_nodes import NodePools
from .._topology.entry import PoolEntry


def get_stats(alias: str | None = None) -> dict[str, Any]:
    """Counters of one alias's pools, with its asyncio pools' under ``"async"`` when it has any; of
    every alias, by alias, when ``alias`` is None."""
    if alias is None:
        return {name: stats_of(entry) for name, entry in registry.entries().items()}
    return stats_of(registry.get_entry(alias))


def stats_of(entry: PoolEntry) -> dict[str, Any]:
    """An entry's stats, with its asyncio pools' under ``"async"`` when it has any."""
    stats = entry.stats()
    found = async_stats(entry.settings.alias)
    return stats if found is None else {**stats, "async": found}


def async_stats(alias: str) -> dict[str, Any] | None:
    """The asyncio pools of ``alias`` in this process, taken together (the keys of one pool's stats,
    and ``loops``: how many event loops have one; a Cluster's nodes' under ``nodes``, each summed
    over the loops); None when it has none."""
    pools = loops.loop_pools(alias)
    if not pools:
        return None
    snapshots: list[Snapshot] = []
    nodes: dict[str, list[Snapshot]] = {}
    for pool in pools:
        if isinstance(pool, NodePools):
            for name, snapshot in pool.snapshots().items():
                nodes.setdefault(name, []).append(snapshot)
                snapshots.append(snapshot)
        else:
            snapshots.append(pool.snapshot())
    stats = {**summarize(snapshots), "loops": len(pools)}
    if nodes:
        stats["nodes"] = {name: summarize(found) for name, found in sorted(nodes.items())}
    return stats


def pool_rows() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(alias, node, driver, stats) of every pool of this process: a Cluster node's name or "" for
    ``node``; ``driver`` "sync", or "asyncio" for an alias's asyncio pools taken together over its
    event loops (node by node for a Cluster alias)."""
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    for alias, entry in sorted(registry.entries().items()):
        rows.extend((alias, node, "sync", pool.stats()) for node, pool in sorted(entry.node_pools().items()))
        found = async_stats(alias)
        if found is not None:
            nodes = found.get("nodes", {"": found})
            rows.extend((alias, node, "asyncio", stats) for node, stats in nodes.items())
    return rows


def client_list(pool: Any, timeout: float) -> list[dict[str, Any]]:
    """``CLIENT LIST`` on one of the pool's own connections, parsed as redis-py parses it."""
    reply, _ = pool.execute_within(timeout, "CLIENT", "LIST")
    return compat.parse_client_list(reply)


def this_process() -> tuple[str, int]:
    """(host, pid) as this process names its pooled connections and its fleet snapshot."""
    return local_host(), os.getpid()
