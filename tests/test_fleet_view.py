"""The fleet view and its rates, from hand-built snapshots (no server)."""

from __future__ import annotations

from typing import Any

from django_redis_pool._fleet.rates import RateTracker, rates
from django_redis_pool._fleet.view import fleet_view, server_processes_of
from tests.support.fleet_snapshots import Read, pool, snapshot


def view_of(*snapshots: dict[str, Any], server: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return fleet_view(Read(list(snapshots)), ["default"], {"default": server})


def listed(pid: int, connections: int, host: str = "web-1", **more: Any) -> dict[str, Any]:
    return {"host": host, "pid": pid, "connections": connections, **more}


def test_a_process_row_merges_its_sync_and_asyncio_pools_of_the_alias() -> None:
    sync = pool(
        in_use=2,
        idle=3,
        max_connections=10,
        peak_in_use=6,
        checkouts=100,
        waits=4,
        wait_ms_p50=1.5,
        wait_ms_p99=9.0,
        wait_ms_max=12.0,
        exhausted=1,
        connection_errors=2,
        closed_for_age=3,
        closed_for_idle=4,
        connections_created=9,
        waiting=1,
    )
    asyncio = pool(
        driver="asyncio",
        loops=2,
        in_use=1,
        idle=1,
        max_connections=20,
        peak_in_use=7,
        checkouts=50,
        waits=1,
        wait_ms_p50=2.5,
        wait_ms_p99=3.0,
        wait_ms_max=30.0,
        closed_for_idle=1,
        connections_created=3,
    )
    other_alias = pool(alias="cache", in_use=50, checkouts=5000)
    view = view_of(snapshot(4242, sync, asyncio, other_alias))
    assert view["aliases"]["default"]["processes"] == [
        {
            "host": "web-1",
            "pid": 4242,
            "started": 1764680000.25,
            "role": "gunicorn",
            "version": "0.9.0",
            "published": 1764680010.5,
            "age_s": 1.5,
            "drivers": ["asyncio", "sync"],
            "nodes": 1,
            "pools": 3,
            "in_use": 3,
            "idle": 4,
            "waiting": 1,
            "max_connections": 30,
            "peak_in_use": 13,
            "connections_created": 12,
            "checkouts": 150,
            "waits": 5,
            "exhausted": 1,
            "connection_errors": 2,
            "closed_for_age": 3,
            "closed_for_idle": 5,
            "largest_pool_peak": 7,
            "wait_ms_p50": 2.5,
            "wait_ms_p99": 9.0,
            "wait_ms_max": 30.0,
            "connections": None,
            "flags": [],
        }
    ]
    assert view["snapshots"] == 1
    assert view["skipped"] == []


def test_a_cluster_process_counts_its_nodes_and_sums_them() -> None:
    nodes = [
        pool(node=f"127.0.0.1:700{n}", in_use=n, max_connections=8, peak_in_use=n + 1) for n in (1, 2, 3)
    ]
    (row,) = view_of(snapshot(7, *nodes))["aliases"]["default"]["processes"]
    assert (row["nodes"], row["pools"], row["in_use"], row["max_connections"]) == (3, 3, 6, 24)
    assert (row["peak_in_use"], row["largest_pool_peak"]) == (9, 4)


def test_processes_without_a_pool_of_the_alias_have_no_row_and_rows_are_sorted() -> None:
    view = view_of(
        snapshot(30, pool(), host="web-2"),
        snapshot(20, pool(alias="cache")),
        snapshot(10, pool(), host="web-2", started=5.0),
        snapshot(11, pool()),
    )
    rows = view["aliases"]["default"]["processes"]
    assert [(r["host"], r["pid"]) for r in rows] == [("web-1", 11), ("web-2", 10), ("web-2", 30)]


def test_totals_sum_the_counts_and_take_the_highest_percentiles() -> None:
    view = view_of(
        snapshot(1, pool(in_use=2, idle=1, peak_in_use=5, checkouts=10, wait_ms_p99=4.0, wait_ms_max=8.0)),
        snapshot(
            2, pool(in_use=3, exhausted=2, peak_in_use=9, checkouts=5, wait_ms_p50=1.0, wait_ms_p99=2.0)
        ),
    )
    totals = view["aliases"]["default"]["totals"]
    assert totals == {
        "processes": 2,
        "unpublished_processes": 0,
        "pools": 2,
        "in_use": 5,
        "idle": 1,
        "waiting": 0,
        "max_connections": 20,
        "peak_in_use": 14,
        "connections_created": 0,
        "checkouts": 15,
        "waits": 0,
        "exhausted": 2,
        "connection_errors": 0,
        "closed_for_age": 0,
        "closed_for_idle": 0,
        "largest_pool_peak": 9,
        "wait_ms_p50": 1.0,
        "wait_ms_p99": 4.0,
        "wait_ms_max": 8.0,
    }


def test_an_empty_fleet_has_zero_totals_of_the_same_types() -> None:
    view = view_of(server=[])
    alias = view["aliases"]["default"]
    assert (alias["processes"], alias["flagged"], alias["server_known"]) == ([], [], True)
    assert alias["totals"]["wait_ms_p99"] == 0.0
    assert alias["totals"]["largest_pool_peak"] == 0


def test_processes_the_server_lists_that_publish_nothing_are_flagged() -> None:
    view = view_of(snapshot(1, pool(idle=2)), server=[listed(1, 2), listed(9, 4, host="worker-3")])
    alias = view["aliases"]["default"]
    assert alias["processes"][0]["connections"] == 2
    assert alias["processes"][0]["flags"] == []
    assert [(f["host"], f["pid"], f["flag"], f["connections"]) for f in alias["flagged"]] == [
        ("worker-3", 9, "no_snapshot", 4)
    ]
    assert alias["flagged"][0]["message"].startswith("holds 4 pooled connection(s) on the server")
    assert alias["totals"]["unpublished_processes"] == 1


def test_a_snapshot_holding_connections_the_server_does_not_list_is_flagged() -> None:
    view = view_of(snapshot(1, pool(in_use=1, idle=2)), snapshot(2, pool()), server=[])
    alias = view["aliases"]["default"]
    assert [(r["pid"], r["connections"], r["flags"]) for r in alias["processes"]] == [
        (1, 0, ["no_connections"]),
        (2, 0, []),  # holds none and the server lists none: consistent
    ]
    assert [(f["pid"], f["flag"], f["connections"]) for f in alias["flagged"]] == [(1, "no_connections", 0)]
    assert "says it holds 3 connection(s)" in alias["flagged"][0]["message"]


def test_nothing_is_flagged_when_the_server_listing_is_unknown() -> None:
    view = fleet_view(Read([snapshot(1, pool(in_use=1))]), ["default"])
    alias = view["aliases"]["default"]
    assert (alias["flagged"], alias["server_known"]) == ([], False)
    assert alias["processes"][0]["flags"] == []
    assert alias["processes"][0]["connections"] is None


def test_the_status_commands_own_process_is_never_flagged() -> None:
    view = view_of(server=[listed(5, 1, this_process=True)])
    assert view["aliases"]["default"]["flagged"] == []


def test_skipped_lines_are_kept() -> None:
    read = Read([], ["django_redis_pool:{fleet}:x: schema 2, not 1"])
    assert fleet_view(read, ["default"])["skipped"] == ["django_redis_pool:{fleet}:x: schema 2, not 1"]


def test_server_processes_add_up_a_clusters_nodes() -> None:
    def node(*processes: dict[str, Any]) -> dict[str, Any]:
        return {"server": {"reachable": True, "processes": list(processes)}}

    report = {"server": None, "nodes": [node(listed(1, 2), listed(2, 1)), node(listed(1, 3))]}
    assert server_processes_of(report) == [listed(1, 5), listed(2, 1)]
    report["nodes"].append({"server": {"reachable": False, "error": "ConnectionError"}})
    assert server_processes_of(report) is None
    assert server_processes_of({"server": {"reachable": True, "processes": None}, "nodes": None}) is None
    assert server_processes_of({"server": None, "nodes": None}) is None


def counters(pid: int, checkouts: int, waits: int, exhausted: int, **where: Any) -> dict[str, Any]:
    return snapshot(pid, pool(checkouts=checkouts, waits=waits, exhausted=exhausted), **where)


def test_rates_divide_by_the_snapshots_own_published_times() -> None:
    before = view_of(counters(1, 100, 10, 0, published=1000.0))
    after = view_of(counters(1, 300, 15, 2, published=1010.0))
    assert rates(before, after, 3.0) == {
        "interval_s": 3.0,
        "aliases": {
            "default": {
                "processes": [
                    {
                        "host": "web-1",
                        "pid": 1,
                        "started": 1764680000.25,
                        "checkouts_per_s": 20.0,
                        "waits_per_s": 0.5,
                        "exhausted_per_s": 0.2,
                        "over_s": 10.0,
                    }
                ],
                "totals": {
                    "checkouts_per_s": 20.0,
                    "waits_per_s": 0.5,
                    "exhausted_per_s": 0.2,
                    "processes_measured": 1,
                },
            }
        },
    }


def test_a_restarted_process_new_one_or_unchanged_snapshot_has_no_rate() -> None:
    before = view_of(counters(1, 500, 0, 0, published=1000.0), counters(2, 50, 0, 0, published=1000.0))
    after = view_of(
        counters(1, 20, 0, 0, published=1010.0, started=1764680009.0),  # pid 1 restarted
        counters(2, 50, 0, 0, published=1000.0),  # published nothing since
        counters(3, 70, 0, 0, published=1010.0),  # new
    )
    found = rates(before, after, 10.0)["aliases"]["default"]
    assert [(p["pid"], p["checkouts_per_s"], p["over_s"]) for p in found["processes"]] == [
        (1, None, None),
        (2, None, None),
        (3, None, None),
    ]
    assert found["totals"] == {
        "checkouts_per_s": 0.0,
        "waits_per_s": 0.0,
        "exhausted_per_s": 0.0,
        "processes_measured": 0,
    }


def test_counters_that_went_down_give_no_rate_rather_than_a_negative_one() -> None:
    before = view_of(counters(1, 500, 9, 1, published=1000.0))
    after = view_of(counters(1, 10, 0, 0, published=1010.0))  # its pools were rebuilt
    (process,) = rates(before, after, 10.0)["aliases"]["default"]["processes"]
    assert (process["checkouts_per_s"], process["waits_per_s"], process["exhausted_per_s"]) == (
        None,
        None,
        None,
    )


def test_the_tracker_keeps_a_rate_while_the_process_has_not_published_again() -> None:
    tracker = RateTracker()
    frames = [
        counters(1, 100, 0, 0, published=1000.0),
        counters(1, 100, 0, 0, published=1000.0),
        counters(1, 200, 4, 0, published=1010.0),
        counters(1, 200, 4, 0, published=1010.0),
        counters(1, 250, 4, 1, published=1020.0),
    ]
    seen = []
    for frame in frames:
        (process,) = tracker.update(view_of(frame), 2.0)["aliases"]["default"]["processes"]
        seen.append((process["checkouts_per_s"], process["waits_per_s"], process["exhausted_per_s"]))
    assert seen == [
        (None, None, None),
        (None, None, None),
        (10.0, 0.4, 0.0),
        (10.0, 0.4, 0.0),
        (5.0, 0.0, 0.1),
    ]


def test_the_tracker_forgets_a_process_that_is_gone() -> None:
    tracker = RateTracker()
    tracker.update(view_of(counters(1, 100, 0, 0, published=1000.0)), 2.0)
    tracker.update(view_of(counters(1, 200, 0, 0, published=1010.0)), 2.0)
    tracker.update(view_of(), 2.0)
    found = tracker.update(view_of(counters(1, 300, 0, 0, published=1010.0)), 2.0)
    assert found["aliases"]["default"]["processes"][0]["checkouts_per_s"] is None
