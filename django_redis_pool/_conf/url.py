"""Check an alias's ``URL`` and say which redis-py arguments it gives, read by redis-py's own parser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url

from .redaction import is_odd, redact_url, split_userinfo

EXAMPLE_URL = "redis://127.0.0.1:6379/0"
SCHEMES = ("redis", "rediss", "unix", "fakeredis")


@dataclass(frozen=True)
class URLArguments:
    """The redis-py keyword arguments a URL sets, and where in the URL each one is."""

    values: Mapping[str, Any] = field(default_factory=dict)
    # keyword -> the part of the URL that gives it: "path", "query argument 'db'"...
    places: Mapping[str, str] = field(default_factory=dict)


def _places(where: str, safe: str, scheme: str, url: str) -> dict[str, str]:
    parts = urlsplit(url)
    places = {name: f"query argument {name!r}" for name in parse_qs(parts.query)}
    own: dict[str, str] = {}
    if parts.username:
        own["username"] = "user name"
    if parts.password:
        own["password"] = "password"
    if scheme == "unix":
        own["path"] = "socket path"
    elif parts.hostname:
        own["host"] = "host"
        if parts.port:
            own["port"] = "port"
    for name, place in own.items():
        if name in places:  # redis-py would silently keep the userinfo's (or host's) and drop the other
            raise ImproperlyConfigured(
                f"{where} gives the {place} twice, also as its query argument {name!r}: {safe!r}. Keep one."
            )
    return {**places, **own}


def check_url(where: str, url: Any, *, require_host: bool = True) -> URLArguments:
    """Validate ``url`` (``where`` names it in messages); raise ImproperlyConfigured, password redacted.

    ``require_host=False`` accepts ``redis://:password@/0``: a Sentinel alias gets the host from the
    sentinels.
    """
    if not isinstance(url, str):
        raise ImproperlyConfigured(f"{where} must be a URL string, got {type(url).__name__}.")
    if not url.strip():
        raise ImproperlyConfigured(f"{where} is empty; set it to a URL such as {EXAMPLE_URL!r}.")
    safe = redact_url(url)
    scheme = _check_scheme_and_userinfo(where, url, safe)
    db = _check_parts(where, url, safe, scheme, require_host)
    if scheme == "fakeredis":
        return URLArguments({"db": int(db)} if db else {}, {"db": "path"} if db else {})
    return _arguments(where, url, safe, scheme, db)


def _check_scheme_and_userinfo(where: str, url: str, safe: str) -> str:
    split = split_userinfo(url)
    scheme = split.head[: -len("://")]
    if scheme not in SCHEMES:
        schemes = ", ".join(f"{s}://" for s in SCHEMES)
        raise ImproperlyConfigured(
            f"{where} has scheme {scheme + '://' if scheme else 'none'} in {safe!r}; use one of {schemes}."
        )
    if is_odd(split):
        raise ImproperlyConfigured(
            f"{where} has a raw '/', '?' or '#' in its user or password, so it cannot be parsed: "
            f"{safe!r}. Percent-encode them (%2F, %3F, %23), or give the password in 'OPTIONS'."
        )
    if "#" in split.rest:
        raise ImproperlyConfigured(
            f"{where} has a '#', which redis-py drops with all that follows it: {safe!r}. "
            "Percent-encode a '#' in a password as %23."
        )
    return scheme


def _check_parts(where: str, url: str, safe: str, scheme: str, require_host: bool) -> str:
    """Port, host, socket path and database; returns the database of the path ("" when none)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(f"{where} is not a valid URL: {safe!r}.") from None
    if scheme in ("redis", "rediss") and not parts.hostname and require_host:
        raise ImproperlyConfigured(f"{where} has no host: {safe!r}.")
    if scheme == "unix" and not parts.path:
        raise ImproperlyConfigured(f"{where} has no socket path: {safe!r}.")
    db = parts.path.lstrip("/") if scheme != "unix" else ""
    if db and not (db.isascii() and db.isdigit()):
        raise ImproperlyConfigured(f"{where} has a database {db!r} that is not a number: {safe!r}.")
    return db


def _arguments(where: str, url: str, safe: str, scheme: str, db: str) -> URLArguments:
    """What redis-py's own parser reads from the URL, and where in the URL each argument is."""
    twice = [name for name, values in parse_qs(urlsplit(url).query).items() if len(values) > 1]
    if twice:
        raise ImproperlyConfigured(
            f"{where} gives its query argument {twice[0]!r} more than once: {safe!r}. Keep one."
        )
    places = _places(where, safe, scheme, url)
    if db:
        if "db" in places:
            raise ImproperlyConfigured(
                f"{where} gives the database twice, as its path '/{db}' and as its query argument 'db': "
                f"{safe!r}. Keep one."
            )
        places["db"] = "path"
    try:
        values: dict[str, Any] = parse_url(url)
    except ValueError as exc:
        # redis-py's message names the argument, never its value.
        raise ImproperlyConfigured(f"{where} is refused by redis-py: {exc} ({safe!r})") from None
    values.pop("connection_class", None)
    return URLArguments(values, places)
