from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("async/", views.async_home, name="async-home"),
    path("async/pool/", views.async_pool, name="async-pool"),
    path("limited/", views.limited, name="limited"),
    path("pool/", views.pool, name="pool"),
    path("ping/", views.ping, name="ping"),
]
