from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("async/", views.async_home, name="async-home"),
    path("async/pool/", views.async_pool, name="async-pool"),
    path("limited/", views.limited, name="limited"),
    path("pool/", views.pool, name="pool"),
    path("ping/", views.ping, name="ping"),
    # For load balancers and Kubernetes probes: 200 or 503, JSON per alias (?alias=... to pick some).
    # The same include serves the fleet page (staff only) at health/redis/fleet/.
    path("health/redis/", include("django_redis_pool.urls")),
    path("cached/", views.cached, name="cached"),
    path("session/", views.session_visits, name="session"),
]
