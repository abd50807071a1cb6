from django.urls import path

from . import views

urlpatterns = [
    path("pooled/", views.pooled),
    path("per-request/", views.per_request),
    path("redis-py-blocking/", views.redis_py_blocking),
    path("django-redis/", views.django_redis_view),
    path("no-redis/", views.no_redis),
    path("cache/", views.cache_view),
]
