"""``manage.py redis_pool_status``: this process's pools and every process's pooled connections."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_redis_pool import registry
from django_redis_pool.status import build_report


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g}s"


def table(rows: Sequence[Sequence[Any]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class Command(BaseCommand):
    help = (
        "Show this process's Redis pools and, from each server, the pooled connections of every "
        "process (gunicorn/uvicorn workers, Celery...). Exits 1 when a server cannot be reached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alias", action="append", dest="aliases", metavar="ALIAS", help="Only this alias (repeatable)."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Output format.")
        parser.add_argument("--no-server", action="store_true", help="Do not contact the servers.")
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="Seconds to wait for each server (default 5)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        error = registry.build_error()
        if error is not None:
            raise CommandError(str(error), returncode=1)
        entries = registry.entries()
        aliases = options["aliases"] or list(entries)
        unknown = [alias for alias in aliases if alias not in entries]
        if unknown:
            configured = ", ".join(repr(a) for a in entries) or "none"
            raise CommandError(
                f"REDIS_POOL has no alias {unknown[0]!r}; configured aliases: {configured}.", returncode=1
            )
        report = build_report(
            [entries[alias] for alias in dict.fromkeys(aliases)],
            server=not options["no_server"],
            timeout=options["timeout"],
        )
        render: dict[str, Callable[[dict[str, Any]], None]] = {
            "text": self.render_text,
            "json": self.render_json,
        }
        render[options["format"]](report)
        down = [
            alias
            for alias, pool in report["pools"].items()
            if pool["server"] and not pool["server"]["reachable"]
        ]
        if down:
            raise CommandError(f"Redis unreachable for {', '.join(map(repr, down))}.", returncode=1)

    def render_json(self, report: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(report, indent=2, sort_keys=True))

    def render_text(self, report: dict[str, Any]) -> None:
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
            self.stdout.write(
                f"  this process  in_use={stats['in_use']} idle={stats['idle']} peak={stats['peak_in_use']} "
                f"created={stats['connections_created']} checkouts={stats['checkouts']} "
                f"waits={stats['waits']} "
                f"(total {stats['wait_ms_total']} ms, max {stats['wait_ms_max']} ms) "
                f"exhausted={stats['exhausted']} errors={stats['connection_errors']}"
            )
            if pool["server"] is not None:
                self.render_server(pool["server"])
            self.stdout.write("")

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
        processes = server["processes"]
        if processes is None:
            self.stdout.write("  " + self.style.WARNING(server["client_list_error"]))
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
