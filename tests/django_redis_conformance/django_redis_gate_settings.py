"""The settings module each run of django-redis's tests loads: one of theirs, imported, then overridden.

``DJANGO_REDIS_GATE`` (JSON, set by ``run.py``) names the settings file (``sqlite_json``...), the
backend (``django-redis`` for the baseline, ``pooled`` for this app) and where the servers the harness
started listen. Everything in django-redis's file is kept; the overrides are:

- the servers' addresses: django-redis's files name fixed ones (``127.0.0.1:6379``, a sentinel on
  ``26379``, ``/tmp/redis.sock``); they become those of the throwaway servers, for both backends;
- for ``pooled`` only: every alias's ``BACKEND`` is ``PooledRedisCache`` and ``"django_redis_pool"``
  is added to ``INSTALLED_APPS``. Nothing else: ``LOCATION`` and ``OPTIONS`` are django-redis's own.

Loaded with their ``tests/`` folder on the path (their ``settings`` package), never with this
project's ``tests`` package importable.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from typing import Any

POOLED_BACKEND = "django_redis_pool.cache.PooledRedisCache"
THEIR_PORT = re.compile(r"(?<=127\.0\.0\.1:)6379\b")
THEIR_SOCKET = "/tmp/redis.sock"
THEIR_SENTINEL = ("127.0.0.1", 26379)

_gate: dict[str, Any] = json.loads(os.environ["DJANGO_REDIS_GATE"])
_theirs = importlib.import_module(f"settings.{_gate['settings']}")


def _relocate(value: Any) -> Any:
    """``value`` (a setting, recursively) with django-redis's server addresses replaced by ours."""
    if isinstance(value, str):
        value = THEIR_PORT.sub(str(_gate["redis_port"]), value)
        return value.replace(THEIR_SOCKET, _gate["unix_socket"])
    if isinstance(value, tuple) and tuple(value) == THEIR_SENTINEL:
        if _gate.get("sentinel_port") is None:
            return value
        return (THEIR_SENTINEL[0], _gate["sentinel_port"])
    if isinstance(value, dict):
        return {key: _relocate(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_relocate(item) for item in value)
    return value


globals().update({name: _relocate(value) for name, value in vars(_theirs).items() if name.isupper()})

CACHES: dict[str, dict[str, Any]] = _relocate(_theirs.CACHES)
INSTALLED_APPS: list[str] = list(_theirs.INSTALLED_APPS)
if _gate["backend"] == "pooled":
    CACHES = {alias: {**config, "BACKEND": POOLED_BACKEND} for alias, config in CACHES.items()}
    INSTALLED_APPS.append("django_redis_pool")
