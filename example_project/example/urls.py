from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("limited/", views.limited, name="limited"),
    path("pool/", views.pool, name="pool"),
    path("ping/", views.ping, name="ping"),
    path("cached/", views.cached, name="cached"),
    path("session/", views.session_visits, name="session"),
]
