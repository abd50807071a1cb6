"""What a PooledRedisCache is made of, read from its LOCATION and OPTIONS when Django builds it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .._conf.cache_location import location_urls
from .._conf.cache_places import cache_alias
from .._conf.caches import (
    checked_options,
    client_kind,
    is_pooled_backend,
    options_path,
    pool_options_on_alias,
)
from .._conf.redaction import redact_url
from .._conf.settings import setting_path
from .codec import build_codec
from .ignore import DEFAULT_LOGGER


@dataclass(frozen=True)
class CacheSetup:
    name: str | None  # the CACHES alias, when Django built the cache from CACHES
    pool_aliases: tuple[str, ...]  # the primary's first, then the replicas'
    kind: str  # "default", "sentinel" or "herd"
    options: Mapping[str, Any]
    ignore_exceptions: bool
    log_ignored_exceptions: bool
    logger: logging.Logger


def cache_names(location: Any, params: Mapping[str, Any]) -> list[str]:
    """The CACHES aliases configured exactly like a backend built with ``location`` and ``params``.

    Django does not tell a backend its alias.
    """
    found = []
    for name, config in getattr(settings, "CACHES", {}).items():
        rest = {k: v for k, v in config.items() if k not in ("BACKEND", "LOCATION")}
        if (
            config.get("LOCATION", "") == location
            and rest == dict(params)
            and is_pooled_backend(config.get("BACKEND"))
        ):
            found.append(name)
    return found


def describe(name: str | None, location: Any) -> str:
    if name is not None:
        return f"CACHES[{name!r}]"
    return f"the cache with LOCATION {redact_url(location) if isinstance(location, str) else '[...]'!r}"


def _pool_aliases(name: str | None, location: Any, options: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    label = name if name is not None else "?"
    urls = location_urls(label, location)
    if urls is None:
        pool_keys = pool_options_on_alias(label, options)
        if pool_keys:
            raise ImproperlyConfigured(
                f"{options_path(label, pool_keys[0])} configures a pool, and LOCATION {location!r} names "
                f"{setting_path(location)}, whose pool this cache uses: set it there "
                "(or give a URL as LOCATION)."
            )
        return (location,)
    count = 2 if kind == "sentinel" and len(urls) == 1 else len(urls)
    return tuple(cache_alias(label, index) for index in range(count))


def _flag(options: Mapping[str, Any], key: str, setting: str) -> bool:
    return bool(options.get(key, getattr(settings, setting, False)))


def read_setup(location: Any, params: Mapping[str, Any], name: str | None = None) -> CacheSetup:
    """Validate a cache's LOCATION and OPTIONS (ImproperlyConfigured naming CACHES[alias]['OPTIONS'][key])."""
    if name is None:
        names = cache_names(location, params)
        name = names[0] if names else None
    if location in (None, "", [], ()):
        raise ImproperlyConfigured(
            f"{describe(name, location)} has no LOCATION: set it to a URL such as 'redis://127.0.0.1:6379/0' "
            "(or a list of them, the primary first) or to a REDIS_POOL alias."
        )
    options = checked_options(name or "?", params.get("OPTIONS", {}))
    kind = client_kind(name or "?", options)
    log = _flag(options, "LOG_IGNORED_EXCEPTIONS", "DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS")
    return CacheSetup(
        name=name,
        pool_aliases=_pool_aliases(name, location, options, kind),
        kind=kind,
        options=options,
        ignore_exceptions=_flag(options, "IGNORE_EXCEPTIONS", "DJANGO_REDIS_IGNORE_EXCEPTIONS"),
        log_ignored_exceptions=log,
        logger=logging.getLogger(getattr(settings, "DJANGO_REDIS_LOGGER", None) or DEFAULT_LOGGER),
    )


def codec_of(setup: CacheSetup, location: Any) -> Any:
    """The cache's codec, built at first use: Django's own checks build every cache, and E004 must
    report a bad SERIALIZER or COMPRESSOR instead of an exception there."""
    return build_codec(setup.options, f"{describe(setup.name, location)}['OPTIONS']")
