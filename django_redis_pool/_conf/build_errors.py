"""Turn an error redis-py raises while building a pool into one that names the alias and the key."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError

from .keys import KEY_OF_KEYWORD
from .paths import setting_path
from .redaction import redact_options, redact_text
from .settings import PoolSettings
from .url import check_url

# What redis-py raises for a bad argument: TypeError (unknown keyword), ValueError, and its own
# errors (ConnectionError "protocol must be either 2 or 3", DataError, RedisError for ssl_cert_reqs).
BUILD_ERRORS = (TypeError, ValueError, RedisError)

_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


def _places(settings: PoolSettings) -> dict[str, str]:
    """Each redis-py keyword the user gave, and how a message names where it was given."""
    url_where = f"{setting_path(settings.alias, 'URL')} ({{}} in {settings.safe_url!r})"
    places = {
        keyword: url_where.format(f"its {place}")
        for keyword, place in check_url(
            setting_path(settings.alias, "URL"), settings.url, require_host=settings.sentinel is None
        ).places.items()
    }
    for keyword in settings.kwargs:
        if keyword in KEY_OF_KEYWORD:
            places[keyword] = setting_path(settings.alias, KEY_OF_KEYWORD[keyword])
        else:
            places[keyword] = f"{setting_path(settings.alias, 'OPTIONS')}[{keyword!r}]"
    return places


def _culprits(
    exc: Exception,
    places: Mapping[str, str],
    kwargs: Mapping[str, Any] | None,
    build: Callable[[dict[str, Any]], object] | None,
) -> list[str]:
    unexpected = _UNEXPECTED.search(str(exc))
    if unexpected and unexpected.group(1) in places:
        return [unexpected.group(1)]
    if kwargs is not None and build is not None:
        # The keywords without which the same build succeeds: one, or two that clash.
        found = []
        for keyword in places:
            if keyword not in kwargs:
                continue
            try:
                build({k: v for k, v in kwargs.items() if k != keyword})
            except Exception:  # still failing without it: not this keyword
                continue
            found.append(keyword)
        if found:
            return found
    mentioned = [k for k in places if re.search(rf"\b{re.escape(k)}\b", str(exc))]
    return mentioned if len(mentioned) == 1 else []


def setting_error(
    settings: PoolSettings,
    exc: Exception,
    kwargs: Mapping[str, Any] | None = None,
    build: Callable[[dict[str, Any]], object] | None = None,
) -> ImproperlyConfigured:
    """An ImproperlyConfigured for ``exc``, naming the setting that caused it, secrets scrubbed.

    ``build(kwargs)`` repeats the failed call; given both, the culprit is found by leaving out one
    argument at a time.
    """
    reason = " ".join(redact_text(str(exc), settings.secret_values()).split()) or type(exc).__name__
    places = _places(settings)
    culprits = _culprits(exc, places, kwargs, build)
    if len(culprits) == 1:
        return ImproperlyConfigured(f"{places[culprits[0]]} is refused by redis-py: {reason}")
    if culprits:
        named = " and ".join(places[keyword] for keyword in culprits)
        return ImproperlyConfigured(f"{named} cannot be given together: {reason}")
    return ImproperlyConfigured(
        f"{setting_path(settings.alias)} could not build a pool from "
        f"{settings.safe_url!r} and {redact_options(settings.kwargs)!r}: {reason}"
    )
