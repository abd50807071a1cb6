from django.urls import path

from . import views

urlpatterns = [
    path("pooled/", views.pooled),
    path("per-request/", views.per_request),
    path("django-redis/", views.django_redis_view),
    path("no-redis/", views.no_redis),
]
