"""pytest plugin: redis-py's ConnectionPool and BlockingConnectionPool replaced by this project's pools.

Loaded with ``-p conformance_pools`` (its folder on PYTHONPATH), it patches at import time, before
pytest imports any test module or conftest, every ``redis`` module attribute that is redis-py's class:
``redis.ConnectionPool``, ``redis.connection.ConnectionPool``, ``redis.client.ConnectionPool``, ...
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import redis
import redis.client
import redis.connection

# Keyword arguments the project's pools may require that redis-py's pools do not have.
PROJECT_ONLY_DEFAULTS: dict[str, Any] = {"alias": "conformance", "safe_url": "redis://"}


def _import_project_pools() -> tuple[type, type]:
    try:
        from django_redis_pool._pool.thread_driver import BlockingPool, NonBlockingPool
    except ModuleNotFoundError as exc:
        # Before the pool classes moved to pools.py they lived in stats.py; any other import
        # error is a defect the run must show, not a reason to test the old classes.
        if exc.name != "django_redis_pool._pool.thread_driver":
            raise
        from django_redis_pool._pool.counters import (
            CountingBlockingConnectionPool as BlockingPool,
        )
        from django_redis_pool._pool.counters import (
            CountingConnectionPool as NonBlockingPool,
        )
    return NonBlockingPool, BlockingPool


def project_pools() -> tuple[type, type]:
    """(non-blocking, blocking) pool classes of the project; Django is configured only if they need it."""
    try:
        return _import_project_pools()
    except Exception as exc:
        from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured

        if not isinstance(exc, ImproperlyConfigured | AppRegistryNotReady):
            raise
        import django
        from django.conf import settings

        settings.configure()
        django.setup()
        return _import_project_pools()


def with_defaults(cls: type) -> type:
    """``cls``, or a same-named subclass giving defaults to the keyword arguments only it requires."""
    # An __init__(*args, **kwargs) of a subclass hides what its base requires: ask every class.
    required = [
        parameter.name
        for klass in cls.__mro__
        if "__init__" in vars(klass)
        for parameter in inspect.signature(vars(klass)["__init__"]).parameters.values()
        if parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty
    ]
    if not required:
        return cls
    defaults = {name: PROJECT_ONLY_DEFAULTS[name] for name in dict.fromkeys(required)}

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        cls.__init__(self, *args, **{**defaults, **kwargs})

    namespace = {"__init__": __init__, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    return type(cls.__name__, (cls,), namespace)


ORIGINALS = {"ConnectionPool": redis.ConnectionPool, "BlockingConnectionPool": redis.BlockingConnectionPool}
# The project's classes subclass redis-py's: they are imported before anything is patched.
REPLACEMENTS = dict(zip(ORIGINALS, map(with_defaults, project_pools()), strict=True))


def swap_pools() -> list[str]:
    """Replace redis-py's pool classes in every loaded ``redis`` module; the names patched."""
    patched = []
    for module_name, module in sorted(sys.modules.items()):
        if module is None or not (module_name == "redis" or module_name.startswith("redis.")):
            continue
        for name, value in list(vars(module).items()):
            for original_name, original in ORIGINALS.items():
                if value is original:
                    setattr(module, name, REPLACEMENTS[original_name])
                    patched.append(f"{module_name}.{name}")
    return patched


PATCHED = swap_pools()


def pytest_report_header() -> list[str]:
    lines = [
        f"conformance: redis.{name} -> {cls.__module__}.{cls.__qualname__}"
        for name, cls in REPLACEMENTS.items()
    ]
    return [*lines, f"conformance: patched {', '.join(PATCHED)}"]
