from __future__ import annotations

import atexit
from typing import Any

from django.apps import AppConfig
from django.core.checks import Tags, register
from django.core.signals import setting_changed

from . import checks
from ._conf.fleet import clear_fleet_cache
from ._conf.settings import clear_settings_cache
from ._fleet import publisher
from ._registry import sync as registry


class DjangoRedisPoolConfig(AppConfig):
    name = "django_redis_pool"
    verbose_name = "Redis pool"

    def ready(self) -> None:
        registry.build_all(raise_errors=True)
        publisher.install()
        atexit.register(shutdown)
        register(Tags.caches)(checks.check_settings)
        register(Tags.caches, deploy=True)(checks.check_deploy)
        register(Tags.caches)(checks.check_caches)
        register(Tags.caches)(checks.check_cache_codecs)
        setting_changed.connect(rebuild_on_setting_change, dispatch_uid="django_redis_pool")


def rebuild_on_setting_change(*, setting: str, **kwargs: Any) -> None:
    # CACHES: a cache with URLs has pools of its own (_conf/caches.py), rebuilt with it.
    if setting not in ("REDIS_POOL", "REDIS_POOL_FLEET", "CACHES", "DJANGO_REDIS_CONNECTION_FACTORY"):
        return
    clear_settings_cache()
    clear_fleet_cache()
    publisher.stop()
    # Tests may switch to an invalid setting on purpose: keep it for the checks
    # (E001) and for the error get_redis() raises, instead of failing here.
    registry.build_all(raise_errors=False)
    if registry.build_error() is None:
        publisher.install()


def shutdown() -> None:
    """At exit: stop publishing (removing this process's snapshot), then close the pools."""
    publisher.stop(forget=True)
    registry.close_all()
