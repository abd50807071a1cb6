"""The fleet page: every process's pools, as published into Redis (``REDIS_POOL_FLEET``), for staff.

``path("redis/", include("django_redis_pool.urls"))`` serves it at ``redis/fleet/`` (and the health
view at ``redis/``); with ``django.contrib.admin`` installed the admin index links to it too. The page
draws the fleet table per alias and, from ``?format=json`` every few seconds, small charts of the
connections in use, the requests waiting and the worst wait p99 since it was opened.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.views import View
from redis.exceptions import RedisClusterException, RedisError

from ._conf.fleet import FleetSettings, get_fleet_settings
from ._conf.probes import health_timeout
from ._conf.redaction import redact_text
from ._conf.settings import get_settings
from ._fleet.store import FleetRead, close_client, fleet_client, read_fleet
from ._fleet.view import fleet_view

TEMPLATE = "django_redis_pool/fleet.html"
ENABLE_HINT = 'REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": 10}'
# How often the page asks for new numbers; ?refresh=N picks another within these bounds.
DEFAULT_REFRESH_SECONDS = 5
REFRESH_BOUNDS = (1, 60)
# The table's columns (keys of fleet_view's rows), and the charts' values (keys of its totals).
COLUMNS = (
    "host", "pid", "role", "age_s", "in_use", "idle", "waiting", "max_connections", "peak_in_use", "waits",
    "wait_ms_p50", "wait_ms_p99", "wait_ms_max", "exhausted", "connection_errors", "closed_for_age",
    "closed_for_idle", "flags",
)  # fmt: skip
CHART_LABELS = (("in_use", "in use"), ("waiting", "waiting"), ("wait_ms_p99", "worst wait p99 (ms)"))


def is_staff(request: HttpRequest) -> bool:
    """Whether the request's user may see the fleet (an active staff member, as for Django's admin)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def login_redirect(request: HttpRequest, admin_site: str = "admin") -> HttpResponseRedirect:
    """To the admin's login page when the admin is installed, else to ``LOGIN_URL``, then back here."""
    try:
        login_url = reverse(f"{admin_site}:login")
    except NoReverseMatch:
        login_url = resolve_url(settings.LOGIN_URL)
    return HttpResponseRedirect(f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})}")


def fleet_document(timeout: float) -> dict[str, Any]:
    """What the page shows, as JSON: per alias, its processes' rows, the totals and a chart point."""
    aliases = sorted(get_settings())
    fleet_settings = get_fleet_settings()
    document: dict[str, Any] = {
        "enabled": fleet_settings is not None,
        "enable_hint": None if fleet_settings else ENABLE_HINT,
        "error": None,
        "namespace": fleet_settings.namespace if fleet_settings else None,
        "interval": fleet_settings.interval if fleet_settings else None,
        "read_at": time.time(),
        "columns": list(COLUMNS),
        "aliases": {alias: empty_alias() for alias in aliases},
        "skipped": [],
    }
    if fleet_settings is None:
        return document
    try:
        read = _read(fleet_settings, timeout, document["read_at"])
    except (RedisError, RedisClusterException, OSError) as exc:
        secrets = get_settings()[fleet_settings.alias].secret_values()
        document["error"] = redact_text(f"{type(exc).__name__}: {exc}", secrets)
        return document
    document["aliases"] = by_alias(read, aliases)
    document["skipped"] = list(read.skipped)
    return document


def _read(fleet_settings: FleetSettings, timeout: float, now: float) -> FleetRead:
    client = fleet_client(fleet_settings, timeout)
    try:
        return read_fleet(client, fleet_settings, now)
    finally:
        close_client(client)


def empty_alias() -> dict[str, Any]:
    return {"rows": [], "totals": None, "chart": {"in_use": 0, "waiting": 0, "wait_ms_p99": 0.0}}


def by_alias(read: FleetRead, configured: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per alias (those configured, and any other a process publishes): one row per process, the
    fleet's totals (None without processes) and this moment's chart point, from ``fleet_view``."""
    published = {pool["alias"] for snapshot in read.snapshots for pool in snapshot["pools"]}
    view = fleet_view(read, sorted({*configured, *published}))
    result = {}
    for alias, part in view["aliases"].items():
        rows, totals = part["processes"], part["totals"]
        # The worst wait p99 of any process: a fleet-wide percentile cannot be made of per-process ones.
        chart = {key: totals[key] for key, _ in CHART_LABELS}
        result[alias] = {"rows": rows, "totals": totals if rows else None, "chart": chart}
    return result


def cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """A row's values in column order, as the page's script writes them too."""
    return [", ".join(row[c]) if isinstance(row.get(c), list) else str(row.get(c, "")) for c in columns]


def flagged(row: Mapping[str, Any]) -> bool:
    """Rows to look at first: a process that was refused a connection, or that the view flags."""
    return bool(row["flags"]) or row["exhausted"] > 0


def table_sections(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    columns = document["columns"]
    sections = []
    for alias, section in document["aliases"].items():
        totals = section["totals"]
        total_row = {**totals, "host": f"{len(section['rows'])} processes"} if totals else None
        sections.append(
            {
                "alias": alias,
                "rows": [{"cells": cells(row, columns), "flagged": flagged(row)} for row in section["rows"]],
                "total_cells": cells(total_row, columns) if total_row else None,
            }
        )
    return sections


def refresh_seconds(request: HttpRequest) -> int:
    low, high = REFRESH_BOUNDS
    try:
        asked = int(request.GET.get("refresh", DEFAULT_REFRESH_SECONDS))
    except ValueError:
        asked = DEFAULT_REFRESH_SECONDS
    return min(max(asked, low), high)


class FleetView(View):
    """The fleet page for staff (``?format=json``: its numbers); others are sent to log in, or get 403.

    ``FleetView.as_view(timeout=0.5)`` bounds the read from Redis (default ``REDIS_POOL_HEALTH_TIMEOUT``);
    ``admin_site`` names the admin site whose login page and index the page links to.
    """

    http_method_names = ("get", "head", "options")
    timeout: float | None = None
    admin_site = "admin"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wants_json = request.GET.get("format") == "json"
        if not is_staff(request):
            if wants_json:
                return self._never_cached(JsonResponse({"error": "Staff only."}, status=403))
            return login_redirect(request, self.admin_site)
        document = fleet_document(health_timeout() if self.timeout is None else self.timeout)
        if wants_json:
            return self._never_cached(JsonResponse(document, status=503 if document["error"] else 200))
        context = {
            "document": document,
            "sections": table_sections(document),
            "chart_labels": CHART_LABELS,
            "data_url": f"{request.path}?{urlencode({'format': 'json'})}",
            "refresh_seconds": refresh_seconds(request),
            "admin_url": _admin_index(self.admin_site),
        }
        return self._never_cached(render(request, TEMPLATE, context))

    def _never_cached(self, response: HttpResponse) -> HttpResponse:
        add_never_cache_headers(response)  # numbers of a moment: no proxy may keep them
        return response


def _admin_index(admin_site: str) -> str | None:
    try:
        return reverse(f"{admin_site}:index")
    except NoReverseMatch:
        return None
