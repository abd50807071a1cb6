"""Django's admin index links to the fleet page: the unmanaged Fleet model's changelist is the page.

Imported only by the admin's autodiscovery, so only when ``django.contrib.admin`` is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, path

from .fleet_page import FleetView, is_staff
from .models import Fleet

# django-stubs types ModelAdmin as generic in its model; at run time it is not subscriptable.
if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Fleet]
else:
    ModelAdmin = admin.ModelAdmin


@admin.register(Fleet)
class FleetAdmin(ModelAdmin):
    """Listed for staff in the admin index; its changelist serves the fleet page, nothing is editable."""

    def get_urls(self) -> list[URLPattern]:
        # Not admin_view(): it would send a JSON client to the login page where FleetView answers 403.
        page = FleetView.as_view(admin_site=self.admin_site.name)
        return [path("", page, name="django_redis_pool_fleet_changelist")]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
