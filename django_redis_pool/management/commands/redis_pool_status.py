"""``manage.py redis_pool_status``: this process's pools and every process's pooled connections."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser

from django_redis_pool._conf.fleet import FleetSettings, get_fleet_settings
from django_redis_pool._fleet import publisher
from django_redis_pool._fleet.rates import RateTracker
from django_redis_pool._registry import sync as registry
from django_redis_pool._report import build_report, unreachable

from ._fleet_read import fleet_sections
from ._fleet_text import advice_lines, fit, fleet_lines
from ._status_text import PoolsText

# A readiness probe that waits longer than this is not probing anything.
MAX_TIMEOUT = 3600.0


def positive_seconds(text: str | float) -> float:
    """``--timeout``: a positive, finite number of seconds (0 would make the socket non-blocking)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds up to {MAX_TIMEOUT:g}, got {text!r}"
        )
    return value


def _option_seconds(options: dict[str, Any], name: str) -> float:
    try:
        # call_command(timeout=...) skips argparse's type function.
        return positive_seconds(options[name])
    except argparse.ArgumentTypeError as exc:
        raise CommandError(f"--{name} {exc}", returncode=1) from None


# ANSI: cursor home, clear the screen (only written to a terminal).
CLEAR_SCREEN = "\x1b[H\x1b[2J"


class Command(PoolsText):
    help = (
        "Show this process's Redis pools, from each server the pooled connections of every process "
        "(gunicorn/uvicorn workers, Celery...) and, with REDIS_POOL_FLEET, every process's pool stats. "
        "Exits 1 when a server or the fleet cannot be read or REDIS_POOL has no aliases."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alias", action="append", dest="aliases", metavar="ALIAS", help="Only this alias (repeatable)."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text", help="Output format.")
        parser.add_argument(
            "--no-server",
            action="store_true",
            help="Do not ask the servers for their status (the fleet, with REDIS_POOL_FLEET, is still read).",
        )
        parser.add_argument(
            "--timeout",
            type=positive_seconds,
            default=5.0,
            help="Seconds to wait for each server (default 5; positive, at most 3600).",
        )
        parser.add_argument(
            "--advise",
            action="store_true",
            help="Advise on MAX_CONNECTIONS, MAX_IDLE and POOL_TIMEOUT from the fleet and the server.",
        )
        parser.add_argument(
            "--watch",
            type=positive_seconds,
            metavar="SECONDS",
            help="Redraw the fleet every SECONDS with per-second rates, until Ctrl-C (text only).",
        )
        # Stop --watch after this many frames (tests, scripts).
        parser.add_argument("--frames", type=int, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        # A reader, not a member of the fleet: even a Cluster report, which connects through the
        # alias's pools, publishes no snapshot of this process.
        with publisher.suppressed():
            self.report(options)

    def report(self, options: dict[str, Any]) -> None:
        error = registry.build_error()
        if error is not None:
            raise CommandError(str(error), returncode=1)
        timeout = _option_seconds(options, "timeout")
        try:
            fleet_settings = get_fleet_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=1) from None
        entries = registry.entries()
        if not entries:
            raise CommandError(
                "REDIS_POOL has no aliases: nothing to report, and get_redis() will fail. "
                "Add a 'default' alias (see django_redis_pool.W009).",
                returncode=1,
            )
        aliases = options["aliases"] or list(entries)
        unknown = [alias for alias in aliases if alias not in entries]
        if unknown:
            configured = ", ".join(repr(a) for a in entries) or "none"
            raise CommandError(
                f"REDIS_POOL has no alias {unknown[0]!r}; configured aliases: {configured}.", returncode=1
            )
        chosen = [entries[alias] for alias in dict.fromkeys(aliases)]

        def collect() -> dict[str, Any]:
            report = build_report(chosen, server=not options["no_server"], timeout=timeout)
            return {**report, **fleet_sections(report, fleet_settings, timeout, options["advise"])}

        if options["watch"] is not None:
            self.watch(collect, fleet_settings, _option_seconds(options, "watch"), options)
            return
        document = collect()
        render: dict[str, Callable[[dict[str, Any], FleetSettings | None], None]] = {
            "text": self.render_text,
            "json": self.render_json,
        }
        render[options["format"]](document, fleet_settings)
        down = [alias for alias, pool in document["pools"].items() if unreachable(pool)]
        if down:
            raise CommandError(f"Redis unreachable for {', '.join(map(repr, down))}.", returncode=1)
        if document["fleet_error"] is not None:
            raise CommandError(document["fleet_error"], returncode=1)

    def watch(
        self,
        collect: Callable[[], dict[str, Any]],
        fleet_settings: FleetSettings | None,
        every: float,
        options: dict[str, Any],
    ) -> None:
        """Redraw the fleet with its rates every ``every`` seconds until Ctrl-C (or ``--frames``)."""
        if options["format"] != "text":
            raise CommandError("--watch redraws text: it cannot be used with --format json.", returncode=1)
        if fleet_settings is None:
            raise CommandError("--watch shows the fleet: set REDIS_POOL_FLEET first.", returncode=1)
        tracker, frames, shown = RateTracker(), options["frames"], 0
        terminal = self.stdout.isatty()
        width = shutil.get_terminal_size().columns if terminal else None
        try:
            while frames is None or shown < frames:
                started = time.monotonic()
                document = collect()
                rates = None if document["fleet"] is None else tracker.update(document["fleet"], every)
                if terminal:
                    self.stdout.write(CLEAR_SCREEN, ending="")
                elif shown:
                    self.stdout.write("")
                self.render_frame(document, fleet_settings, rates, every, width)
                shown += 1
                if frames is None or shown < frames:
                    time.sleep(max(0.0, every - (time.monotonic() - started)))
        except KeyboardInterrupt:
            self.stdout.write("")

    def render_frame(
        self,
        document: dict[str, Any],
        settings: FleetSettings,
        rates: dict[str, Any] | None,
        every: float,
        width: int | None = None,
    ) -> None:
        stamp = time.strftime("%H:%M:%S")
        lines = [f"redis_pool_status --watch {every:g}  {stamp}  (Ctrl-C to stop)"]
        for alias, pool in document["pools"].items():
            if unreachable(pool):
                lines.append(self.style.ERROR(f"Redis unreachable for {alias!r}."))
        if document["fleet_error"] is not None:
            lines.append(self.style.ERROR(document["fleet_error"]))
        for line in [*lines, *self.fleet_text(document, settings, rates)]:
            self.stdout.write(fit(line, width))

    def render_json(self, document: dict[str, Any], settings: FleetSettings | None) -> None:
        self.stdout.write(json.dumps(document, indent=2, sort_keys=True))

    def fleet_text(
        self, document: dict[str, Any], settings: FleetSettings | None, rates: dict[str, Any] | None = None
    ) -> list[str]:
        style = self.style
        lines = fleet_lines(
            document["fleet"], settings, style.MIGRATE_HEADING, style.WARNING, style.ERROR, rates
        )
        if document["advice"] is not None:
            lines += advice_lines(document["advice"], style.WARNING, style.NOTICE)
        return lines

    def render_text(self, document: dict[str, Any], settings: FleetSettings | None) -> None:
        self.render_pools(document)
        for line in self.fleet_text(document, settings):
            self.stdout.write(line)
        if document["fleet_error"] is not None:
            self.stdout.write(self.style.ERROR(document["fleet_error"]))
