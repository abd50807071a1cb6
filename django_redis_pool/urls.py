"""``path("redis/", include("django_redis_pool.urls"))``: the health view at ``redis/``, the fleet page
(staff only) at ``redis/fleet/``."""

from __future__ import annotations

from django.urls import path

from .fleet_page import FleetView
from .health import HealthView

app_name = "django_redis_pool"
urlpatterns = [
    path("", HealthView.as_view(), name="health"),
    path("fleet/", FleetView.as_view(), name="fleet"),
]
