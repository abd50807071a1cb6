"""``REDIS_POOL_HEALTH_TIMEOUT``: how long a health probe or a metrics scrape waits on one server."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .keys import MAX_SECONDS

TIMEOUT_SETTING = "REDIS_POOL_HEALTH_TIMEOUT"
DEFAULT_TIMEOUT = 1.0


def health_timeout() -> float:
    """``REDIS_POOL_HEALTH_TIMEOUT``, validated (seconds, default 1)."""
    value = getattr(settings, TIMEOUT_SETTING, DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_SECONDS:
        raise ImproperlyConfigured(
            f"{TIMEOUT_SETTING} must be a number of seconds above 0 and at most {MAX_SECONDS}, got {value!r}."
        )
    return float(value)
