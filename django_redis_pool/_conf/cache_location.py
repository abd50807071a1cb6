"""Where a cache's servers are: django-redis's LOCATION forms, and its Sentinel URLs (the service as host)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

from .redaction import redact_url

_SHORTHAND = re.compile(r"^(rediss?://(?:[^@/]*@)?[^/:?@]+:\d+):(\d+)(?=$|[?])")


def location_urls(name: str, location: Any) -> list[str] | None:
    """The server URLs of a cache's LOCATION (the primary first), or None when it names a REDIS_POOL alias."""
    where = f"CACHES[{name!r}]['LOCATION']"
    if isinstance(location, str) and "://" not in location:
        return None
    if isinstance(location, str):
        items: list[Any] = location.split(",")
    elif isinstance(location, list | tuple) and location:
        items = list(location)
    else:
        raise ImproperlyConfigured(
            f"{where} must be a REDIS_POOL alias, a URL, or a list of URLs (the primary first), "
            f"got {type(location).__name__}."
        )
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise ImproperlyConfigured(f"{where} must hold non-empty URL strings.")
    # django-redis's redis://host:port:db is redis://host:port/db.
    return [_SHORTHAND.sub(r"\1/\2", item.strip()) for item in items]


def sentinel_url(
    name: str, options: Mapping[str, Any], url: str, config: dict[str, Any], replica: bool
) -> str:
    """Fill the Sentinel keys; return the URL without its host (the service name) and is_master."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ImproperlyConfigured(
            f"CACHES[{name!r}]['LOCATION'] must name the Sentinel service as its host, e.g. "
            f"'redis://mymaster/0', got {redact_url(url)!r}."
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    is_master = [value for key, value in query if key == "is_master"]
    if is_master and is_master[-1].lower() in ("0", "false", "f", "n", "no", "off"):
        replica = True
    rest = urlencode([(k, v) for k, v in query if k != "is_master"])
    userinfo = parts.netloc.rpartition("@")[0]
    config["SENTINELS"] = options["SENTINELS"]
    config["SERVICE_NAME"] = parts.hostname
    config["ROLE"] = "replica" if replica else "master"
    if options.get("SENTINEL_KWARGS"):
        config["SENTINEL_OPTIONS"] = options["SENTINEL_KWARGS"]
    return f"{parts.scheme}://{userinfo + '@' if userinfo else ''}{parts.path or '/'}" + (
        f"?{rest}" if rest else ""
    )
