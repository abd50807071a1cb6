"""One process's snapshot: who it is, and the stats of every pool it holds (counters and gauges
only: no URL, no password, no stack)."""

from __future__ import annotations

import os
import sys
import time
from importlib.metadata import version
from typing import Any

from .._pool.naming import local_host
from .._report import pool_rows

SCHEMA = 1
# Programs whose subcommand says more than the program does (`manage.py runserver`).
_RUNNERS = ("manage.py", "django-admin")


def process_role(argv: list[str] | None = None) -> str:
    """What this process is, from its command line's program (and a manage.py subcommand), never its
    arguments (which may hold secrets)."""
    argv = sys.argv if argv is None else argv
    if not argv or not argv[0]:
        return "python"
    program = os.path.basename(argv[0])
    if program == "__main__.py":  # python -m gunicorn: the package, never its arguments
        return os.path.basename(os.path.dirname(argv[0])) or "python"
    if program in _RUNNERS and len(argv) > 1 and not argv[1].startswith("-"):
        return f"{program} {os.path.basename(argv[1])}"
    return program


def process_started(pid: int | None = None) -> float:
    """The unix time this process started (Linux's /proc), or now when that cannot be read: with
    the pid, it tells a restarted process from its predecessor."""
    try:
        with open(f"/proc/{pid or os.getpid()}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith("btime "))
        return round(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError, StopIteration):
        return round(time.time(), 2)


def identity() -> dict[str, Any]:
    """host, pid, started, role and version of this process."""
    return {
        "host": local_host(),
        "pid": os.getpid(),
        "started": process_started(),
        "role": process_role(),
        "version": version("django-redis-pool"),
    }


def build_snapshot(who: dict[str, Any], interval: float, now: float | None = None) -> dict[str, Any]:
    """The document this process publishes: ``who`` (:func:`identity`) and its pools' stats."""
    pools = [
        # An asyncio Cluster row is already one node: its "nodes" breakdown is not repeated.
        {
            "alias": alias,
            "node": node,
            "driver": driver,
            "stats": {k: v for k, v in stats.items() if k != "nodes"},
        }
        for alias, node, driver, stats in pool_rows()
    ]
    return {
        "schema": SCHEMA,
        **who,
        "published": round(time.time() if now is None else now, 3),
        "interval": interval,
        "pools": pools,
    }
