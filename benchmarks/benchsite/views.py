"""One GET per request, five ways; and the example project's counter, sync and async."""

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection

from django_redis_pool import get_async_redis, get_redis

KEY = "bench:k"
COUNTER = "bench:visits"

# redis-py's own blocking pool, wired as a Django user would without this app: one module-level
# client per process, the same limits as REDIS_POOL['default'] in settings.py. redis-py resets
# the pool in each forked gunicorn worker before its first use.
redis_py_blocking_client = redis.Redis(
    connection_pool=redis.BlockingConnectionPool.from_url(
        settings.URL,
        max_connections=settings.MAX_CONNECTIONS,
        timeout=20,
        socket_timeout=5,
        socket_connect_timeout=5,
    )
)


def pooled(request: HttpRequest) -> HttpResponse:
    return HttpResponse(get_redis().get(KEY))


def per_request(request: HttpRequest) -> HttpResponse:
    # The anti-pattern: a client and a TCP connection per request.
    client = redis.Redis.from_url(settings.URL, socket_timeout=5)
    try:
        return HttpResponse(client.get(KEY))
    finally:
        client.close()


def redis_py_blocking(request: HttpRequest) -> HttpResponse:
    return HttpResponse(redis_py_blocking_client.get(KEY))


def django_redis_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(get_redis_connection("django_redis").get(KEY))


def no_redis(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"v" * 16)


# The example project's home page without its template: one INCR, then the count. Section 4c serves
# the sync one under gunicorn and the async one under uvicorn.
def incr(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(get_redis().incr(COUNTER)))


async def async_incr(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(await get_async_redis().incr(COUNTER)))


async def async_no_redis(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"v" * 16)
