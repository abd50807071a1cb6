"""Checks E002 and E003: every CACHES alias on PooledRedisCache can work, said at startup. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured

from .._conf.cache_places import is_cache_alias
from .._conf.caches import is_pooled_backend
from .._conf.settings import setting_path
from .._registry import sync as registry
from .._topology.entry import PoolEntry
from .codec import codec_problems
from .options import read_setup

MIGRATING = "See the settings table in docs/migrating.md (From django-redis)."


def check_caches(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each PooledRedisCache's LOCATION and OPTIONS are taken (E002) and its pool suits a cache (E003)."""
    if registry.build_error() is not None:
        return []  # E001 says why there are no pools
    entries = registry.entries()
    messages: list[CheckMessage] = []
    for name, config in getattr(settings, "CACHES", {}).items():
        if not isinstance(config, dict) or not is_pooled_backend(config.get("BACKEND")):
            continue
        messages.extend(_check_cache(name, config, entries))
    return messages


def _check_cache(name: str, config: dict[str, Any], entries: dict[str, PoolEntry]) -> list[CheckMessage]:
    where, location = f"CACHES[{name!r}]", config.get("LOCATION", "")
    params = {k: v for k, v in config.items() if k not in ("BACKEND", "LOCATION")}
    try:
        setup = read_setup(location, params, name=name)
    except ImproperlyConfigured as exc:
        problem: tuple[str, str] | None = (str(exc), MIGRATING)
    else:
        problem = _no_pool(where, location, setup.pool_aliases[0], entries)
    if problem is not None:
        return [Error(problem[0], hint=problem[1], id="django_redis_pool.E002")]
    primary = setup.pool_aliases[0]
    unsuitable = _unsuitable_for_cache(entries[primary])
    if unsuitable is None:
        return []
    return [
        Error(
            f"{where} uses {setting_path(primary)}, {unsuitable}",
            hint=f"Point {where}['LOCATION'] at a single server or a Sentinel master, "
            "without decode_responses.",
            id="django_redis_pool.E003",
        )
    ]


def _no_pool(
    where: str, location: Any, primary: str, entries: dict[str, PoolEntry]
) -> tuple[str, str] | None:
    if primary in entries:
        return None
    configured = ", ".join(repr(a) for a in entries if not is_cache_alias(a)) or "none"
    return (
        f"{where} has LOCATION {location!r}, which is neither a REDIS_POOL alias nor a URL: its "
        "PooledRedisCache has no pool.",
        f"Set {where}['LOCATION'] to a URL such as 'redis://127.0.0.1:6379/0' or to one of the "
        f"REDIS_POOL aliases: {configured}.",
    )


def _unsuitable_for_cache(entry: PoolEntry) -> str | None:
    if entry.kind == "cluster":
        return (
            "a Redis Cluster alias: the cache sends multi-key commands (MGET for get_many, "
            "MSET in a transaction for set_many) that fail when the keys live in different slots."
        )
    config = entry.settings.sentinel
    if config is not None and config.is_replica:
        return "a Sentinel replica alias: replicas refuse the cache's writes."
    kwargs = getattr(entry.pool, "connection_kwargs", None) or entry.settings.kwargs
    if kwargs.get("decode_responses"):
        return (
            "whose connections decode responses to str: the cache stores pickled bytes, "
            "which cannot be decoded."
        )
    return None


def check_cache_codecs(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every ``PooledRedisCache``'s serializer and compressor can be built from its OPTIONS (E004)."""
    messages: list[CheckMessage] = []
    for name, config in getattr(settings, "CACHES", {}).items():
        if not isinstance(config, dict) or not is_pooled_backend(config.get("BACKEND")):
            continue
        options = config.get("OPTIONS", {})
        if not isinstance(options, Mapping):
            continue  # E002 says so
        messages.extend(
            Error(
                problem,
                hint="The cache builds its serializer and compressor from these OPTIONS when first "
                "used, and would raise this error there.",
                id="django_redis_pool.E004",
            )
            for problem in codec_problems(options, f"CACHES[{name!r}]['OPTIONS']")
        )
    return messages
