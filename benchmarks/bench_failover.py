"""Acknowledged writes lost when a Sentinel master fails over, and how long writes stop.

    python benchmarks/bench_failover.py [--runs 5] [--settle 1.5] [--output docs/failover.md]

Four threads write unique keys through a client while the master is failed over (``SENTINEL FAILOVER``)
or SIGKILLed; afterwards every acknowledged key is looked up on the new master
(tests/support/failover.py's ``write_through_failover``). Contenders: this app's Sentinel alias and plain
redis-py ``Sentinel(...).master_for(...)``; mitigations, on this app's alias: ``min-replicas-to-write 1``
on the data nodes, and ``WAIT 1 1000`` after every write.

Every measurement runs in a fresh subprocess (``--one``) on a fresh SentinelTopology (one master, one
replica, three sentinels on loopback ports), so no pool, watcher thread or demoted server carries over.
Traffic goes only to 127.0.0.1; every process started here is stopped before exit.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OURS = "this app's Sentinel alias"
PLAIN = "redis-py Sentinel.master_for"
CONTENDERS = {"ours": OURS, "plain": PLAIN}
SCENARIOS = {"graceful": "Graceful failover (`SENTINEL FAILOVER`)", "killed": "Killed master (SIGKILL)"}
MITIGATIONS = {
    "none": "none",
    "min-replicas": "`min-replicas-to-write 1`, `min-replicas-max-lag 1`",
    "wait": "`WAIT 1 1000` after each write",
}
RESULT_PREFIX = "RESULT "
RUN_TIMEOUT_S = 120


# --- one measurement, in its own process ---------------------------------------------------------------


def _our_client(topology: Any) -> tuple[Any, Callable[[], None]]:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django_redis_pool"],
        LOGGING_CONFIG=None,
        REDIS_POOL={
            "ha": {
                "SENTINELS": topology.sentinels,
                "SERVICE_NAME": topology.service_name,
                "SOCKET_TIMEOUT": 5,
                "SOCKET_CONNECT_TIMEOUT": 5,
                "POOL_TIMEOUT": 5,
                "MAX_CONNECTIONS": 8,
            }
        },
    )
    django.setup()
    from django_redis_pool import get_redis
    from django_redis_pool._registry.sync import close_all

    return get_redis("ha"), close_all


def _plain_client(topology: Any) -> tuple[Any, Callable[[], None]]:
    from redis.sentinel import Sentinel

    sentinel = Sentinel(topology.sentinels, socket_timeout=5)  # type: ignore[no-untyped-call]
    client = sentinel.master_for(topology.service_name, socket_timeout=5)  # type: ignore[no-untyped-call]
    return client, client.close


def measure_one(scenario: str, contender: str, mitigation: str, settle_s: float) -> dict[str, Any]:
    """One failover on a fresh topology; the FailoverRun's fields plus the time fail_over() took."""
    from tests.support.failover import write_through_failover
    from tests.support.topologies import SentinelTopology

    topology = SentinelTopology(
        min_replicas_to_write=1 if mitigation == "min-replicas" else 0, min_replicas_max_lag=1
    )
    with topology:
        client, close = (_our_client if contender == "ours" else _plain_client)(topology)
        old = topology.master_address()
        timing: dict[str, float] = {}

        def fail_over() -> tuple[str, int]:
            began = time.monotonic()
            if scenario == "graceful":
                new = topology.failover(timeout=30)
            else:
                topology.kill_master()
                new = topology.wait_for_master_change(old, timeout=30)
            timing["sentinels_s"] = time.monotonic() - began
            return new

        try:
            run = write_through_failover(
                client,
                fail_over,
                topology.admin,
                threads=4,
                settle_s=settle_s,
                wait_replicas=1 if mitigation == "wait" else 0,
            )
        finally:
            close()
    return {**asdict(run), **timing, "startup_s": topology.startup_seconds}


# --- the driver ---------------------------------------------------------------------------------------


def run_one(scenario: str, contender: str, mitigation: str, settle_s: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", scenario, contender, mitigation, "--settle", str(settle_s)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise RuntimeError(
        f"{scenario}/{contender}/{mitigation} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    )


Config = tuple[str, str, str]


def configs() -> list[Config]:
    """(scenario, contender, mitigation) for every cell; the mitigations' "none" rows reuse ours."""
    cells: list[Config] = []
    for scenario in SCENARIOS:
        cells += [(scenario, contender, "none") for contender in CONTENDERS]
        cells += [(scenario, "ours", mitigation) for mitigation in MITIGATIONS if mitigation != "none"]
    return cells


def cell(values: list[float], fmt: str) -> str:
    median = statistics.median(values)
    listed = ", ".join(format(value, fmt) for value in values)
    return f"**{format(median, fmt)}** ({listed})"


def kinds(runs: list[dict[str, Any]]) -> str:
    total: dict[str, int] = {}
    for run in runs:
        for kind, count in run["error_kinds"].items():
            total[kind] = total.get(kind, 0) + count
    return ", ".join(f"{kind} {count:,}" for kind, count in sorted(total.items())) or "-"


def row(label: list[str], runs: list[dict[str, Any]]) -> list[str]:
    return [
        *label,
        cell([r["acknowledged"] for r in runs], ",d"),
        cell([r["lost"] for r in runs], ",d"),
        cell([r["errors"] for r in runs], ",d"),
        cell([r["gap_s"] for r in runs], ".2f"),
        cell([r["sentinels_s"] for r in runs], ".2f"),
        kinds(runs),
    ]


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


COLUMNS = [
    "acknowledged",
    "lost",
    "errors",
    "failover gap (s)",
    "sentinels took (s)",
    "error kinds (all runs)",
]


def render(results: dict[Config, list[dict[str, Any]]], runs: int, settle_s: float, elapsed: float) -> str:
    import django
    import redis

    server = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    version = next((p.split("=")[1] for p in server if p.startswith("v=")), "?")
    sections = []
    for number, (scenario, title) in enumerate(SCENARIOS.items(), start=1):
        rows = [row([CONTENDERS[c]], results[(scenario, c, "none")]) for c in CONTENDERS]
        sections.append(f"## {number}. {title}\n\n" + table(["contender", *COLUMNS], rows))
    rows = [
        row([SCENARIOS[s].split(" (")[0], MITIGATIONS[m]], results[(s, "ours", m)])
        for s in SCENARIOS
        for m in MITIGATIONS
    ]
    sections.append(
        "## 3. Mitigations, on this app's alias\n\n"
        'The "none" rows are the same runs as this app\'s rows above.\n\n'
        + table(["scenario", "mitigation", *COLUMNS], rows)
    )
    return (
        f"- Date: {datetime.date.today().isoformat()}; {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}, Django {django.get_version()}, redis-py {redis.__version__}, "
        f"redis-server {version}\n"
        f"- {runs} runs per row, each on a fresh topology in a fresh process; {settle_s:g} s of writes after "
        f"the sentinels agree; whole run {elapsed:.0f} s. Command: `make bench-failover`.\n"
        "- Cells: **median** (every run, in order).\n\n" + "\n\n".join(sections) + "\n"
    )


MARKERS = ("<!-- bench-failover:begin -->", "<!-- bench-failover:end -->")


def write_doc(path: Path, body: str) -> None:
    """Replace what lies between the markers in ``path`` (or create it with just the results)."""
    begin, end = MARKERS
    block = f"{begin}\n{body}{end}"
    if path.exists() and begin in (current := path.read_text()) and end in current:
        head, rest = current.split(begin, 1)
        path.write_text(head + block + rest.split(end, 1)[1])
    else:
        path.write_text(f"# Sentinel failover: lost writes and the gap\n\n{block}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.5, help="seconds of writes after the switch")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "failover.md")
    parser.add_argument("--one", nargs=3, metavar=("SCENARIO", "CONTENDER", "MITIGATION"))
    args = parser.parse_args()
    if args.one:
        scenario, contender, mitigation = args.one
        result = measure_one(scenario, contender, mitigation, args.settle)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return

    started = time.monotonic()
    results: dict[Config, list[dict[str, Any]]] = {config: [] for config in configs()}
    for attempt in range(args.runs):  # interleaved: every configuration once per round
        for config in results:
            result = run_one(*config, args.settle)
            results[config].append(result)
            name = "/".join(config)
            print(
                f"round {attempt + 1}/{args.runs} {name:<24} acknowledged {result['acknowledged']:>6,}"
                f" lost {result['lost']:>6,} errors {result['errors']:>5,} gap {result['gap_s']:6.2f} s"
                f" sentinels {result['sentinels_s']:5.2f} s {result['error_kinds']}",
                flush=True,
            )
    body = render(results, args.runs, args.settle, time.monotonic() - started)
    print("\n" + body)
    write_doc(args.output, body)
    raw = ROOT / "benchmarks" / "out" / "failover.json"  # git-ignored: every run's fields
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"/".join(config): runs for config, runs in results.items()}, indent=1))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
