"""The package internals that the docs tests read, in one module: when one moves, fix its import here.

Everything else the docs tests use is public (``django_redis_pool.get_redis``, ``get_stats``...).
"""

from __future__ import annotations

from typing import Any

from django_redis_pool._conf.settings import parse_setting
from django_redis_pool.checks import ALL_IDS


def parse_redis_pool(value: Any) -> dict[str, Any]:
    """The app's own parser of a ``REDIS_POOL`` value: raises ImproperlyConfigured as startup would."""
    return parse_setting(value)


def check_ids() -> tuple[str, ...]:
    """Every system check id the app can emit."""
    return tuple(ALL_IDS)
