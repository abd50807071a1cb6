from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_page

from django_redis_pool import get_async_redis, get_pool, get_redis, get_stats

VISITS_KEY = "example:visits"


def home(request: HttpRequest) -> HttpResponse:
    visits = get_redis().incr(VISITS_KEY)
    return render(request, "example/home.html", {"visits": visits, "via": "get_redis()"})


async def async_home(request: HttpRequest) -> HttpResponse:
    """The home page as an async view: the same counter, through this event loop's pool."""
    visits = await get_async_redis().incr(VISITS_KEY)
    return render(request, "example/home.html", {"visits": visits, "via": "await get_async_redis()"})


def fixed_window_hit(client_id: str, limit: int, window: int) -> tuple[bool, int, int]:
    """Count one request in the current window: (allowed, count, seconds until the window ends)."""
    now = int(time.time())
    window_start = now - now % window
    key = f"example:rate:{client_id}:{window_start}"
    pipe = get_redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, window, nx=True)
    count, _ = pipe.execute()
    return count <= limit, count, window_start + window - now


def limited(request: HttpRequest) -> HttpResponse:
    limit, window = settings.RATE_LIMIT, settings.RATE_WINDOW_SECONDS
    client_id = request.META.get("REMOTE_ADDR", "unknown")
    allowed, count, retry_after = fixed_window_hit(client_id, limit, window)
    context = {
        "allowed": allowed,
        "count": count,
        "limit": limit,
        "window": window,
        "retry_after": retry_after,
    }
    response = render(request, "example/limited.html", context, status=200 if allowed else 429)
    if not allowed:
        response["Retry-After"] = str(retry_after)
    return response


def pool(request: HttpRequest) -> HttpResponse:
    # repr() of a pool names its alias and URL with the password redacted.
    rows = [
        {"alias": alias, "pool": repr(get_pool(alias)), "stats": stats}
        for alias, stats in get_stats().items()
    ]
    if request.GET.get("format") == "json":
        return JsonResponse({"pools": {row["alias"]: row for row in rows}})
    return render(request, "example/pool.html", {"rows": rows})


async def async_pool(request: HttpRequest) -> JsonResponse:
    # get_stats() includes, under "async", this process's asyncio pools summed over event loops.
    return JsonResponse({"pools": get_stats()})


def ping(request: HttpRequest) -> HttpResponse:
    """One GET through the pool: the view the benchmarks drive."""
    value = get_redis().get("example:ping")
    return HttpResponse(value or b"")


@cache_page(60)
def cached(request: HttpRequest) -> HttpResponse:
    """Rendered at most once a minute: cache_page answers the rest from CACHES['default'], which is
    a PooledRedisCache on the "default" alias's pool."""
    renders = get_redis().incr("example:renders")
    return JsonResponse({"renders": renders, "rendered_at": time.time()})


def session_visits(request: HttpRequest) -> HttpResponse:
    """Visits counted in the session (SESSION_ENGINE "cache", so in Redis through the same pool)."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"]})
