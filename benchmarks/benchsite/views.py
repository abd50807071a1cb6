"""One GET per request, four ways."""

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection

from django_redis_pool import get_redis

KEY = "bench:k"


def pooled(request: HttpRequest) -> HttpResponse:
    return HttpResponse(get_redis().get(KEY))


def per_request(request: HttpRequest) -> HttpResponse:
    # The anti-pattern: a client and a TCP connection per request.
    client = redis.Redis.from_url(settings.URL, socket_timeout=5)
    try:
        return HttpResponse(client.get(KEY))
    finally:
        client.close()


def django_redis_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(get_redis_connection("django_redis").get(KEY))


def no_redis(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"v" * 16)
