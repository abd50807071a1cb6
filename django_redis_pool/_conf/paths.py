"""How messages name a place in the ``REDIS_POOL`` setting: ``REDIS_POOL['cache']['URL']``."""

from __future__ import annotations

SETTING_NAME = "REDIS_POOL"


def setting_path(alias: str, key: str | None = None) -> str:
    """``REDIS_POOL['cache']``, or ``REDIS_POOL['cache']['URL']`` with a key."""
    return f"{SETTING_NAME}[{alias!r}]" + (f"[{key!r}]" if key else "")
