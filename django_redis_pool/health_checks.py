"""django-health-check checks for this app's pools (``pip install 'django-redis-pool[health]'``).

Each check is :func:`django_redis_pool.health.check`: a PING through the alias's own pool, bounded by
``REDIS_POOL_HEALTH_TIMEOUT``, with redacted errors; it never opens a connection per probe (the
django-health-check ``Redis`` check does, with a client of its own).

django-health-check 4 lists checks on its view::

    HealthCheckView.as_view(checks=["django_redis_pool.health_checks.RedisPool",  # every alias
                                    ("django_redis_pool.health_checks.RedisPool", {"alias": "cache"})])

That is django-health-check 4.8's API (``health_check.base.HealthCheck``); its 3.x releases
registered ``BaseHealthCheckBackend`` subclasses in ``plugin_dir`` instead, and are not supported.
"""

from __future__ import annotations

import dataclasses
import datetime

from ._conf.probes import health_timeout
from .health import check

try:
    import health_check  # noqa: F401
except ImportError:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "django_redis_pool.health_checks needs django-health-check: pip install 'django-redis-pool[health]'."
    ) from None

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable


def failure(alias: str | None) -> str | None:
    """None when the alias (every alias when None) answers PING through its pool, else why not."""
    report = check(None if alias is None else [alias])
    if report["status"] == "ok":
        return None
    down = [f"{name}: {pool['error']}" for name, pool in report["pools"].items() if not pool["reachable"]]
    return "; ".join(down) or "REDIS_POOL has no aliases."


@dataclasses.dataclass
class RedisPool(HealthCheck):  # type: ignore[misc]
    """One alias, or every alias when ``alias`` is None."""

    alias: str | None = None

    @property
    def timeout(self) -> datetime.timedelta:
        # django-health-check's wall-clock budget: the PING's own bound, which reports first.
        return datetime.timedelta(seconds=health_timeout())

    def run(self) -> None:  # sync: django-health-check runs it in its executor
        error = failure(self.alias)
        if error is not None:
            raise ServiceUnavailable(error)
