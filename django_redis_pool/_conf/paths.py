"""How messages name a place in the ``REDIS_POOL`` setting: ``REDIS_POOL['cache']['URL']``."""

from __future__ import annotations

from .cache_places import cache_setting_path, is_cache_alias

SETTING_NAME = "REDIS_POOL"


def setting_path(alias: str, key: str | None = None) -> str:
    """``REDIS_POOL['cache']``, or ``REDIS_POOL['cache']['URL']`` with a key; a pool derived from
    CACHES is named where its keys were written (``CACHES['default']['OPTIONS']['SOCKET_TIMEOUT']``)."""
    if is_cache_alias(alias):
        return cache_setting_path(alias, key)
    return f"{SETTING_NAME}[{alias!r}]" + (f"[{key!r}]" if key else "")
