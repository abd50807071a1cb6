"""No tables: one unmanaged model, so that Django's admin index links to the fleet page."""

from __future__ import annotations

from django.db import models


class Fleet(models.Model):
    """The admin's entry for the fleet page (``django_redis_pool.admin``); it has no table and no rows."""

    id = models.AutoField(primary_key=True)  # explicit: no DEFAULT_AUTO_FIELD warning in any project

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "fleet"
        verbose_name_plural = "fleet"

    def __str__(self) -> str:
        return "fleet"
