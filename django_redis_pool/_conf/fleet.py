"""``REDIS_POOL_FLEET``: every process publishes its pools' stats into one alias (opt-in).

``{"ALIAS": "default", "INTERVAL": 10, "NAMESPACE": "django_redis_pool"}``: the alias the snapshots
go to, the seconds between two snapshots of a process, and the prefix of their keys (two projects
sharing one server keep apart with different namespaces).
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .settings import get_settings

FLEET_SETTING = "REDIS_POOL_FLEET"
KEYS = ("ALIAS", "INTERVAL", "NAMESPACE")
DEFAULT_INTERVAL = 10.0
DEFAULT_NAMESPACE = "django_redis_pool"
# A snapshot lives this many intervals: a process that stopped publishing disappears after it.
TTL_INTERVALS = 3
MIN_INTERVAL = 0.1
MAX_INTERVAL = 3600.0
# Redis key characters a namespace may use: no braces (the hash tag is ours), no spaces.
_NAMESPACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/")


@dataclass(frozen=True)
class FleetSettings:
    alias: str
    interval: float = DEFAULT_INTERVAL
    namespace: str = DEFAULT_NAMESPACE

    @property
    def ttl(self) -> float:
        """Seconds a snapshot lives unless its process publishes again."""
        return self.interval * TTL_INTERVALS


def _path(key: str) -> str:
    return f"{FLEET_SETTING}[{key!r}]"


def parse_fleet(value: Any, aliases: list[str]) -> FleetSettings | None:
    """Validate ``REDIS_POOL_FLEET`` (None or an empty dict: off) against the configured aliases."""
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"{FLEET_SETTING} must be a dict such as {{'ALIAS': 'default', 'INTERVAL': 10}}, "
            f"got {type(value).__name__}."
        )
    for key in value:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key).upper(), KEYS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ImproperlyConfigured(
                f"{FLEET_SETTING} has an unknown key {key!r}.{hint} Known keys: {', '.join(KEYS)}."
            )
    alias = value.get("ALIAS", "default")
    if alias not in aliases:
        configured = ", ".join(repr(a) for a in aliases) or "none"
        raise ImproperlyConfigured(
            f"{_path('ALIAS')} must name an alias of REDIS_POOL to publish into, got {alias!r}; "
            f"configured aliases: {configured}."
        )
    interval = value.get("INTERVAL", DEFAULT_INTERVAL)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not math.isfinite(interval)
        or not MIN_INTERVAL <= interval <= MAX_INTERVAL
    ):
        raise ImproperlyConfigured(
            f"{_path('INTERVAL')} must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}, "
            f"got {interval!r}."
        )
    namespace = value.get("NAMESPACE", DEFAULT_NAMESPACE)
    if not isinstance(namespace, str) or not namespace or not set(namespace) <= _NAMESPACE_CHARS:
        raise ImproperlyConfigured(
            f"{_path('NAMESPACE')} must be a non-empty string of letters, digits and '_-.:/', "
            f"got {namespace!r}."
        )
    return FleetSettings(alias=alias, interval=float(interval), namespace=namespace)


@functools.cache
def get_fleet_settings() -> FleetSettings | None:
    """The parsed ``REDIS_POOL_FLEET``, or None when the fleet view is off; cached until a setting
    changes (``clear_fleet_cache``)."""
    return parse_fleet(getattr(settings, FLEET_SETTING, None), list(get_settings()))


def clear_fleet_cache() -> None:
    get_fleet_settings.cache_clear()
