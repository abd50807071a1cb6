from django.urls import path

from . import views

urlpatterns = [
    path("pid/", views.pid),
    path("get/", views.get),
    path("exhaust/", views.exhaust),
    path("threads/", views.threads),
]
