"""``path("health/redis/", include("django_redis_pool.urls"))``: the health view at that path."""

from __future__ import annotations

from django.urls import path

from .health import HealthView

app_name = "django_redis_pool"
urlpatterns = [path("", HealthView.as_view(), name="health")]
