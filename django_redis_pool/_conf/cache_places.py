"""How messages name the pools this app derives from ``CACHES`` (a cache whose ``LOCATION`` is a URL).

Such a cache's primary server is the alias ``CACHES['default']``, each replica
``CACHES['default']['LOCATION'][1]``...; a REDIS_POOL key of theirs is named where the user wrote it:
``SOCKET_TIMEOUT`` in ``CACHES['default']['OPTIONS']``, ``MAX_CONNECTIONS`` in its
``CONNECTION_POOL_KWARGS``. No other module of ``_conf`` is imported here (``settings`` imports this).
"""

from __future__ import annotations

import re

CACHE_ALIAS_PREFIX = "CACHES["
_REPLICA = re.compile(r"\['LOCATION'\]\[\d+\]$")

# Where each REDIS_POOL key of a derived alias was written, under the cache's dict.
_PLACE_OF_KEY = {
    "URL": "['LOCATION']",
    "SERVICE_NAME": "['LOCATION']",
    "ROLE": "['OPTIONS']['CLIENT_CLASS']",
    "OPTIONS": "['OPTIONS']",
    "BLOCKING": "['OPTIONS']['CONNECTION_POOL_CLASS']",
    "MAX_CONNECTIONS": "['OPTIONS']['CONNECTION_POOL_KWARGS']['max_connections']",
    "POOL_TIMEOUT": "['OPTIONS']['CONNECTION_POOL_KWARGS']['timeout']",
    "HEALTH_CHECK_INTERVAL": "['OPTIONS']['CONNECTION_POOL_KWARGS']['health_check_interval']",
    "SENTINEL_OPTIONS": "['OPTIONS']['SENTINEL_KWARGS']",
}


def is_cache_alias(alias: str) -> bool:
    """Whether a pool alias was derived from CACHES (REDIS_POOL may not use such names)."""
    return alias.startswith(CACHE_ALIAS_PREFIX)


def cache_alias(name: str, index: int = 0) -> str:
    """The pool alias of server ``index`` of CACHES[name]'s LOCATION (0: the primary)."""
    return f"CACHES[{name!r}]" + (f"['LOCATION'][{index}]" if index else "")


def cache_setting_path(alias: str, key: str | None = None) -> str:
    """``CACHES['default']['OPTIONS']['SOCKET_TIMEOUT']`` for a derived alias and a REDIS_POOL key."""
    cache = _REPLICA.sub("", alias)
    if key is None:
        return f"{cache}['OPTIONS']"
    if key == "URL" and cache != alias:
        return alias
    return cache + _PLACE_OF_KEY.get(key, f"['OPTIONS'][{key!r}]")
