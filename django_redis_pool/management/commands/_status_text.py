"""The text of ``redis_pool_status``'s per-alias report: limits, this process's stats, the server
(``_``: not a command of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g}s"


def _ms(value: float | None) -> str:
    return "none" if value is None else f"{value:g} ms"


def table(rows: Sequence[Sequence[Any]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class PoolsText(BaseCommand):
    """The per-alias text, for the status command to inherit."""

    def render_pools(self, report: dict[str, Any]) -> None:
        for alias, pool in report["pools"].items():
            limits, stats = pool["limits"], pool["stats"]
            self.stdout.write(
                self.style.MIGRATE_HEADING(f"{alias}: {pool['url']}") + f" ({pool['pool_class']})"
            )
            self.stdout.write(
                f"  limits  max_connections={limits['max_connections']} "
                f"blocking={'yes' if limits['blocking'] else 'no'} "
                f"pool_timeout={_seconds(limits['pool_timeout'])} "
                f"socket_timeout={_seconds(limits['socket_timeout'])} "
                f"connect_timeout={_seconds(limits['socket_connect_timeout'])}"
            )
            retry = ""
            if limits.get("retries") is not None:
                retry = f" retries={limits['retries']}"
                if limits.get("retry_backoff"):
                    retry += f" ({limits['retry_backoff']})"
            self.stdout.write(
                f"          max_lifetime={_seconds(limits['max_lifetime'])} "
                f"max_idle={_seconds(limits['max_idle'])} "
                f"leak_warning={_seconds(limits['leak_warning'])}{retry}"
            )
            self.stdout.write(
                f"  this process  in_use={stats['in_use']} idle={stats['idle']} peak={stats['peak_in_use']} "
                f"created={stats['connections_created']} checkouts={stats['checkouts']} "
                f"waits={stats['waits']} "
                f"(total {stats['wait_ms_total']} ms, max {stats['wait_ms_max']} ms) "
                f"exhausted={stats['exhausted']} errors={stats['connection_errors']}"
            )
            for line in self.more_stats(stats):
                self.stdout.write(line)
            if pool["sentinel"] is not None:
                self.render_sentinel(pool["sentinel"])
            if pool["server"] is not None:
                self.render_server(pool["server"])
            if pool["nodes"] is not None:
                self.render_nodes(pool["nodes"])
            self.stdout.write("")

    def render_sentinel(self, sentinel: dict[str, Any]) -> None:
        total = len(sentinel["sentinels"])
        replicas = ", ".join(f"{r['address']} ({r['flags']})" for r in sentinel["replicas"]) or "none"
        self.stdout.write(
            f"  sentinels  service {sentinel['service_name']!r}: master {sentinel['master']} "
            f"({sentinel['agreeing_sentinels']} of {total} sentinels agree); replicas {replicas}"
        )
        for row in sentinel["sentinels"]:
            if not row["reachable"]:
                self.stdout.write(
                    f"    sentinel {row['address']} " + self.style.ERROR(f"UNREACHABLE: {row['error']}")
                )
        if sentinel["target"] is not None:
            role = "a replica" if sentinel["role"] == "replica" else "the master"
            self.stdout.write(f"  checking {role}, {sentinel['target']}:")

    def render_nodes(self, nodes: list[dict[str, Any]]) -> None:
        rows: list[tuple[Any, ...]] = [("NODE", "ROLE", "SLOTS", "IN_USE", "IDLE", "CHECKOUTS", "WAITS")]
        for node in nodes:
            stats = node["stats"] or {}
            rows.append(
                (
                    node["node"],
                    node["role"] or "?",
                    node["slots"] or (f"replica of {node['replica_of']}" if node["replica_of"] else "-"),
                    stats.get("in_use", "-"),
                    stats.get("idle", "-"),
                    stats.get("checkouts", "-"),
                    stats.get("waits", "-"),
                )
            )
        self.stdout.write(f"  cluster nodes: {len(nodes)}")
        for line in table(rows):
            self.stdout.write("    " + line)
        for node in nodes:
            self.stdout.write(f"  node {node['node']}:")
            self.render_server(node["server"])

    @staticmethod
    def more_stats(stats: dict[str, Any]) -> list[str]:
        """Lines for the stats keys that pools with recycling and leak warnings report, when present."""
        lines = []
        held = []
        if "waiting" in stats:
            held.append(f"waiting={stats['waiting']}")
        if "oldest_checkout_age_s" in stats:
            held.append(f"oldest_checkout={_seconds(stats['oldest_checkout_age_s'])}")
        if "leak_warnings" in stats:
            held.append(f"leak_warnings={stats['leak_warnings']}")
        if held:
            lines.append("    held now  " + " ".join(held))
        closed = [f"{key}={stats[key]}" for key in ("closed_for_age", "closed_for_idle") if key in stats]
        if closed:
            lines.append("    recycled  " + " ".join(closed))
        window = [
            f"{label} {_ms(stats[key])}"
            for key, label in (("wait_ms_p50", "p50"), ("wait_ms_p99", "p99"), ("wait_ms_window_max", "max"))
            if key in stats
        ]
        if window:
            lines.append("    last 1,024 waits  " + ", ".join(window))
        if stats.get("breaker_opened") or stats.get("breaker_state", "closed") != "closed":
            lines.append(
                f"    circuit breaker  {stats['breaker_state']}, opened {stats['breaker_opened']} time(s), "
                f"refused {stats['breaker_refused']} checkout(s)"
            )
        return lines

    def render_server(self, server: dict[str, Any]) -> None:
        if not server["reachable"]:
            self.stdout.write("  server  " + self.style.ERROR(f"UNREACHABLE: {server['error']}"))
            return
        if server["info_error"]:
            self.stdout.write(f"  server  ping {server['ping_ms']:.2f} ms")
            self.stdout.write("  " + self.style.WARNING(server["info_error"]))
        else:
            self.stdout.write(
                f"  server  Redis {server['version']} ({server['role']}), ping {server['ping_ms']:.2f} ms, "
                f"connected_clients {server['connected_clients']}/{server['maxclients']}"
            )
        timeout = server.get("timeout")
        if timeout is not None:
            idle = "0 (never closes idle clients)"
            if timeout:
                idle = f"{timeout:g}s (closes clients idle for longer)"
            self.stdout.write(f"  server timeout  {idle}")
        for warning in server.get("warnings", []):
            self.stdout.write("  " + self.style.WARNING(warning))
        processes = server["processes"]
        if processes is None:
            reason = server.get("processes_reason") or server["client_list_error"]
            self.stdout.write(
                "  pooled connections on the server: " + self.style.WARNING(f"unknown. {reason}")
            )
            return
        total = sum(p["connections"] for p in processes)
        self.stdout.write(f"  pooled connections on the server: {total} in {len(processes)} process(es)")
        if processes:
            rows = [("HOST", "PID", "CONNS", "IDLE S", "AGE S", "")]
            rows += [
                (
                    p["host"],
                    p["pid"],
                    p["connections"],
                    f"{p['idle_seconds_min']}-{p['idle_seconds_max']}",
                    p["age_seconds_max"],
                    "(this process)" if p["this_process"] else "",
                )
                for p in processes
            ]
            for line in table(rows):
                self.stdout.write("    " + line)
