"""What the fleet view costs: publishing next to GETs, one snapshot, and reading 200 processes.

``python benchmarks/bench_fleet.py [--quick] [--rounds 15] [--round-seconds 2]`` starts its own
redis-server on 127.0.0.1 and writes ``docs/benchmarks-fleet.md``:

- (a) ``get_redis().get()`` in one thread, with this process publishing its snapshot every second
  (``REDIS_POOL_FLEET['INTERVAL'] = 1``) and without: paired rounds of about ``--round-seconds`` each
  (order alternating), the publisher started before each "on" round and stopped before each "off"
  one; the ratio of GETs/s on / off per pair, then the median of the pairs; the same for the
  process's CPU time per GET; and one whole publish (snapshot, JSON, the pipelined write) timed
  alone, whose CPU time over the interval is the share of a core publishing takes.
- (b) one snapshot, ``build_snapshot`` then ``json.dumps`` as the publisher does, with 8 aliases each
  used by threads and by 4 event loops (so 8 thread pools and 32 asyncio pools): median and p99 of
  many single calls, in microseconds.
- (c) ``redis_pool_status --format json`` with 200 processes published (hand-built snapshots written
  with ``store.write_snapshot``, each listing the 8 aliases' pools as this process's does): in this
  process through ``call_command``, and as a process of its own (Python and Django start-up
  included; the same command without ``REDIS_POOL_FLEET`` is timed beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import KEY, ROOT, VALUE, RedisServer, percentile, setup_django, table, timed_loop
from run import machine

ALIASES = 8
LOOPS = 4
INTERVAL = 1.0
PROCESSES = 200
# When the hand-built processes of (c) started: one value, so each fleet written replaces the last.
FLEET_STARTED = round(time.time() - 3600, 2)
OUTPUT = ROOT / "docs" / "benchmarks-fleet.md"


def timed_round(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Seconds of wall time and of this process's CPU time (every thread of it) for ``n`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(rounds: int, round_seconds: float) -> dict[str, Any]:
    """(a): GETs/s with the publisher running and stopped, paired rounds; and the CPU time per GET
    of the whole process (the publisher thread's included), which the other processes of a shared
    machine disturb much less than the wall time."""
    from django_redis_pool import get_redis
    from django_redis_pool._fleet import publisher

    client = get_redis()
    client.set(KEY, VALUE)

    def get() -> object:
        return client.get(KEY)

    n = max(1000, int(round_seconds * 1e6 / timed_loop(get, 2000)))
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    published = 0

    def run(on: bool) -> None:
        nonlocal published
        if on:
            running = publisher.ensure_started()
            assert running is not None, "REDIS_POOL_FLEET is not set"
            before = running.published
            times[on].append(timed_round(get, n))
            published += running.published - before
        else:
            publisher.stop()
            times[on].append(timed_round(get, n))

    run(True)  # warm-up, both sides
    run(False)
    times[True].clear()
    times[False].clear()
    published = 0
    for i in range(rounds):
        for on in (True, False) if i % 2 else (False, True):
            run(on)
    publisher.stop()
    pairs = list(zip(times[True], times[False], strict=True))
    # GETs/s on / off = time per GET off / on; CPU per GET on / off.
    wall_ratios = [off[0] / on[0] for on, off in pairs]
    cpu_ratios = [on[1] / off[1] for on, off in pairs]
    return {
        "n": n,
        "rounds": rounds,
        "on_ops": n / statistics.median(t[0] for t in times[True]),
        "off_ops": n / statistics.median(t[0] for t in times[False]),
        "on_cpu_us": statistics.median(t[1] for t in times[True]) / n * 1e6,
        "off_cpu_us": statistics.median(t[1] for t in times[False]) / n * 1e6,
        "ratio": statistics.median(wall_ratios),
        "ratio_q1": percentile(wall_ratios, 25),
        "ratio_q3": percentile(wall_ratios, 75),
        "cpu_ratio": statistics.median(cpu_ratios),
        "cpu_ratio_q1": percentile(cpu_ratios, 25),
        "cpu_ratio_q3": percentile(cpu_ratios, 75),
        "published": published,
    }


def publish_cost(calls: int) -> dict[str, float]:
    """One whole publish as the publisher thread does it (snapshot, JSON, one pipelined write of
    SET, ZADD, ZREMRANGEBYSCORE, PEXPIRE), called here on a publisher that is not started."""
    from django_redis_pool._conf.fleet import get_fleet_settings
    from django_redis_pool._fleet import publisher

    settings = get_fleet_settings()
    assert settings is not None
    idle = publisher.Publisher(settings)
    try:
        idle.publish_once()  # opens its connection
        samples = [timed_round(idle.publish_once, 1) for _ in range(calls)]
    finally:
        idle.close_client()
    assert idle.failures == 0, "publishing failed"
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    return {"calls": calls, "wall_us": wall * 1e6, "cpu_us": cpu * 1e6, "share": cpu / INTERVAL}


@contextmanager
def event_loops(count: int) -> Iterator[list[asyncio.AbstractEventLoop]]:
    """``count`` event loops, each running in a thread of its own until the block ends."""
    loops = [asyncio.new_event_loop() for _ in range(count)]
    threads = [threading.Thread(target=loop.run_forever, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield loops
    finally:
        for loop, thread in zip(loops, threads, strict=True):
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def use_every_pool(aliases: list[str], loops: list[asyncio.AbstractEventLoop]) -> None:
    from django_redis_pool import get_async_redis, get_redis

    async def ping_all() -> None:
        for alias in aliases:
            await get_async_redis(alias).ping()

    for alias in aliases:
        get_redis(alias).ping()
    for loop in loops:
        asyncio.run_coroutine_threadsafe(ping_all(), loop).result(30)


def snapshot_cost(calls: int) -> dict[str, Any]:
    """(b): one snapshot built and encoded, as the publisher does every interval."""
    from django_redis_pool._fleet.snapshot import build_snapshot, identity

    who = identity()
    document = build_snapshot(who, INTERVAL)
    build_ns: list[int] = []
    total_ns: list[int] = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        built = build_snapshot(who, INTERVAL)
        middle = time.perf_counter_ns()
        json.dumps(built, separators=(",", ":"))
        ended = time.perf_counter_ns()
        build_ns.append(middle - started)
        total_ns.append(ended - started)
    drivers = [(pool["driver"], pool["stats"].get("loops", 1)) for pool in document["pools"]]
    return {
        "calls": calls,
        "rows": len(document["pools"]),
        "thread_pools": sum(1 for driver, _ in drivers if driver == "sync"),
        "asyncio_pools": sum(loops for driver, loops in drivers if driver == "asyncio"),
        "bytes": len(json.dumps(document, separators=(",", ":"))),
        "build_us": statistics.median(build_ns) / 1000,
        "median_us": statistics.median(total_ns) / 1000,
        "p99_us": percentile([float(t) for t in total_ns], 99) / 1000,
    }


def publish_fleet(processes: int, aliases: list[str] | None) -> None:
    """Write ``processes`` snapshots shaped like this process's (its pools of ``aliases`` only, or all
    of them), as 10 hosts of 20 workers would; the same keys each time, so a second fleet replaces the
    first."""
    from django_redis_pool._conf.fleet import get_fleet_settings
    from django_redis_pool._fleet.snapshot import build_snapshot, identity
    from django_redis_pool._fleet.store import delete_snapshot, fleet_client, write_snapshot

    settings = get_fleet_settings()
    assert settings is not None
    # A long TTL of the same namespace: the snapshots outlive the timed runs.
    lasting = type(settings)(alias=settings.alias, interval=600.0, namespace=settings.namespace)
    template = build_snapshot(identity(), INTERVAL)
    if aliases is not None:
        template["pools"] = [pool for pool in template["pools"] if pool["alias"] in aliases]
    client = fleet_client(lasting, 5.0)
    try:
        delete_snapshot(client, settings, identity())  # this process's, left by (a): not one of them
        for index in range(processes):
            now = time.time()
            who = {"host": f"web-{index // 20 + 1}", "pid": 10_000 + index, "started": FLEET_STARTED}
            write_snapshot(client, lasting, {**template, **who, "published": now}, now)
    finally:
        client.close()


def check_fleet(output: str, aliases: int) -> None:
    """Every published process is in the command's JSON, under each alias."""
    views = json.loads(output)["fleet"]["aliases"]
    assert len(views) == aliases, f"{len(views)} aliases in the fleet view, {aliases} expected"
    for alias, view in views.items():
        found = len(view["processes"])
        assert found == PROCESSES, f"{alias}: {found} processes read, {PROCESSES} published"


def status_in_process(options: list[str], aliases: int) -> float:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("redis_pool_status", "--format", "json", *options, stdout=out)
    elapsed = time.perf_counter() - started
    check_fleet(out.getvalue(), aliases)
    return elapsed


def status_subprocess(options: list[str], aliases: int, fleet: bool = True) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]))
    if not fleet:
        env.pop("BENCH_FLEET_INTERVAL", None)
    command = [sys.executable, "-m", "django", "redis_pool_status", "--format", "json", *options]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"redis_pool_status failed: {done.stderr}")
    if fleet:
        check_fleet(done.stdout, aliases)
    return elapsed


# (c)'s two fleets: the label, the aliases each snapshot lists (None: all 8), the command's options.
FLEETS = [
    ("1 alias", ["default"], ["--alias", "default"]),
    (f"{ALIASES} aliases", None, []),
]


def status_time(reps: int) -> dict[str, dict[str, float]]:
    """(c): the status command with ``PROCESSES`` snapshots published, for each of ``FLEETS``."""
    from django_redis_pool._fleet import publisher

    publisher.stop()
    results: dict[str, dict[str, float]] = {}
    for label, aliases, options in FLEETS:
        count = len(aliases) if aliases is not None else ALIASES
        publish_fleet(PROCESSES, aliases)
        status_in_process(options, count)  # warm-up
        in_process = [status_in_process(options, count) for _ in range(reps)]
        alone: list[float] = []
        unread: list[float] = []
        for _ in range(reps):  # interleaved
            alone.append(status_subprocess(options, count))
            unread.append(status_subprocess(options, count, fleet=False))
        results[label] = {
            "reps": reps,
            "in_process_s": statistics.median(in_process),
            "in_process_max_s": max(in_process),
            "subprocess_s": statistics.median(alone),
            "subprocess_max_s": max(alone),
            "subprocess_no_fleet_s": statistics.median(unread),
        }
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def render(
    a: dict[str, Any],
    p: dict[str, float],
    b: dict[str, Any],
    c: dict[str, Any],
    took: float,
    command: str,
    load: str,
) -> str:
    summary = [
        f"- GETs/s with publishing on / off (INTERVAL {INTERVAL:g} s): **{a['ratio']:.3f}** (target >= 0.99; "
        f"median of {a['rounds']} paired rounds, interquartile {a['ratio_q1']:.3f} to {a['ratio_q3']:.3f}); "
        f"CPU time per GET on / off **{a['cpu_ratio']:.3f}** (interquartile {a['cpu_ratio_q1']:.3f} to "
        f"{a['cpu_ratio_q3']:.3f}); one publish costs {p['cpu_us']:,.0f} µs of CPU, "
        f"**{p['share']:.2%}** of each {INTERVAL:g} s interval.",
        f"- One snapshot with {ALIASES} aliases and {LOOPS} event loops, built and encoded: "
        f"**{b['median_us']:,.0f} µs** (median; p99 {b['p99_us']:,.0f} µs).",
        *(
            f"- `redis_pool_status --format json` with {PROCESSES} processes published, {label} each: "
            f"**{ms(found['in_process_s'])} ms** in-process, **{ms(found['subprocess_s'])} ms** as a "
            f"process of its own, of which {ms(found['subprocess_no_fleet_s'])} ms start-up and report "
            "without the fleet (target under 1 s)."
            for label, found in c.items()
        ),
    ]
    throughput_rows = [
        ["publishing off", f"{a['off_ops']:,.0f}", f"{a['off_cpu_us']:,.1f}"],
        [f"publishing on, every {INTERVAL:g} s", f"{a['on_ops']:,.0f}", f"{a['on_cpu_us']:,.1f}"],
    ]
    publish_rows = [
        ["wall time (the write's round trip included)", f"{p['wall_us']:,.0f}"],
        ["CPU time of this process", f"{p['cpu_us']:,.0f}"],
    ]
    snapshot_rows = [
        ["`build_snapshot`", f"{b['build_us']:,.1f}"],
        ["`build_snapshot` + `json.dumps`", f"{b['median_us']:,.1f}"],
        ["the same, p99", f"{b['p99_us']:,.1f}"],
    ]

    status_rows = []
    for label, found in c.items():
        status_rows += [
            [
                label,
                "in this process (`call_command`)",
                ms(found["in_process_s"]),
                ms(found["in_process_max_s"]),
            ],
            [label, "a process of its own", ms(found["subprocess_s"]), ms(found["subprocess_max_s"])],
            [
                label,
                "the same, `REDIS_POOL_FLEET` unset (no fleet read)",
                ms(found["subprocess_no_fleet_s"]),
                "",
            ],
        ]
    return "\n".join(
        [
            "# Fleet view benchmarks",
            "",
            "What publishing pool snapshots (`REDIS_POOL_FLEET`) costs a process, and how long the status "
            "command takes to read a large fleet. Numbers from one run on the machine below, against a "
            "redis-server the script starts on 127.0.0.1.",
            "",
            machine().replace("`make bench` (`python benchmarks/run.py`)", f"`{command}` ({took:.0f} s)"),
            f"- Load average (1 min) at the start and at the end of the run: {load}",
            "",
            "## Targets, from this run",
            "",
            *summary,
            "",
            "## (a) GET throughput, publishing on and off",
            "",
            f"One thread, `get_redis().get()` of a 16-byte value, {a['n']:,} GETs per round (about "
            f"{a['n'] / a['off_ops']:.1f} s); {a['rounds']} pairs of rounds, on then off and off then on "
            'alternately. Before an "on" round the publisher is started (it publishes at once, then every '
            'interval, with 10% jitter), before an "off" round it is stopped. The snapshots published '
            f"are those of (b), 8 aliases and their asyncio pools; {a['published']} were published during "
            'the measured "on" rounds.',
            "",
            table(["", "GETs/s, median of the rounds", "CPU µs per GET, median"], throughput_rows),
            "",
            "The CPU column is `time.process_time()` over a round divided by its GETs: every thread of "
            "the process, the publisher's included. On a shared machine the wall time of a round moves "
            "with the other processes' load (see the interquartile ranges above); the CPU time much less.",
            "",
            f"One whole publish, called {p['calls']:,} times on a publisher that is not started (the "
            "snapshot of (b), its JSON, and one pipelined `SET`, `ZADD`, `ZREMRANGEBYSCORE`, `PEXPIRE`):",
            "",
            table(["", "µs, median"], publish_rows),
            "",
            "Reading it: the publisher thread needs the GIL for the CPU part of a publish, once per "
            "interval, so a thread serving requests loses at most that much time per interval: GETs/s on "
            f"/ off is at least 1 - {p['cpu_us']:,.0f} µs / {INTERVAL:g} s = {1 - p['share']:.4f} here, "
            "and nearer 1 with a longer INTERVAL (10 s by default). The measured ratios agree "
            "within their spread, which on this shared machine (see the load average above) is wider "
            "than the effect: rounds of the same side differ by more than the publisher costs.",
            "",
            "## (b) The cost of one snapshot",
            "",
            f"{ALIASES} aliases on one server, each used from a thread and from {LOOPS} event loops (each "
            f"running in a thread of its own): {b['thread_pools']} thread pools and {b['asyncio_pools']} "
            f"asyncio pools in {b['rows']} rows, {b['bytes']:,} bytes of JSON. {b['calls']:,} calls, each "
            "timed on its own; what the publisher thread spends every interval before writing.",
            "",
            table(["", "µs, median"], snapshot_rows),
            "",
            "## (c) The status command with 200 processes",
            "",
            f"{PROCESSES} snapshots written with `store.write_snapshot` (10 hosts of 20 workers), each "
            "listing this process's pools: those of alias `default` only (a thread pool and the asyncio "
            f"pools of 4 loops), run as `redis_pool_status --format json --alias default`; then all of "
            f"(b), {ALIASES} aliases, run without `--alias`. The command reads every snapshot (one "
            "`ZRANGEBYSCORE`, one `MGET`), builds the fleet view per alias, reports each alias's server "
            f"(`INFO`, `CLIENT LIST`) and prints JSON. Median of {next(iter(c.values()))['reps']} runs "
            "after a warm-up; the subprocess rows include starting Python and Django, and the rows "
            "without the fleet show that part.",
            "",
            table(["fleet", "", "ms, median", "ms, slowest"], status_rows),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small loops: checks the code runs")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--round-seconds", type=float, default=2.0)
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args()
    rounds, round_seconds = (3, 0.3) if args.quick else (args.rounds, args.round_seconds)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with RedisServer() as server:
        os.environ["BENCH_FLEET_INTERVAL"] = str(INTERVAL)
        os.environ["BENCH_ALIASES"] = str(ALIASES)
        setup_django(server.url)
        from django_redis_pool._registry import sync as registry

        with event_loops(LOOPS) as loops:
            use_every_pool(list(registry.entries()), loops)
            b = snapshot_cost(200 if args.quick else 5000)
            a = throughput(rounds, round_seconds)
            p = publish_cost(50 if args.quick else 1000)
            c = status_time(2 if args.quick else 7)
    command = "python benchmarks/bench_fleet.py " + " ".join(sys.argv[1:])
    load = f"{load_before:.1f}, {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)"
    text = render(a, p, b, c, time.monotonic() - started, command.strip(), load)
    print(text)
    if not args.quick:
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
