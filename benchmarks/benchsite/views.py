"""One GET per request, five ways; and a cache.get plus cache.set on the cache BENCH_CACHE names."""

import redis
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection

from django_redis_pool import get_redis

KEY = "bench:k"

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


CACHE_KEY = "bench:cache:view"
CACHE_VALUE = {"id": 42, "name": "x" * 64, "tags": ["a", "b", "c"]}


def cache_view(request: HttpRequest) -> HttpResponse:
    # caches[...] is per thread, as in any Django view: Django's RedisCache builds its pools per cache
    # object, so per thread; PooledRedisCache and django-redis share one pool per process.
    cache = caches[settings.CACHE_VIEW_ALIAS]
    value = cache.get(CACHE_KEY)
    cache.set(CACHE_KEY, CACHE_VALUE, 300)
    return HttpResponse(b"hit" if value is not None else b"miss")
