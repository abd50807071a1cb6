"""Parse and validate the ``REDIS_POOL`` setting into frozen dataclasses.

Nothing else in the package reads ``settings.REDIS_POOL``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .redaction import SECRET_OPTIONS, redact_options, redact_url

SETTING_NAME = "REDIS_POOL"
DEFAULT_ALIAS = "default"
DEFAULT_CLIENT_NAME = "django_redis_pool"

SCHEMES = ("redis", "rediss", "unix", "fakeredis")

# The top-level key of each alias and the redis-py keyword it becomes. A key a user
# does not give is not passed on, so the installed redis-py's default stays in force.
KEYWORD_OF_KEY = {
    "SOCKET_TIMEOUT": "socket_timeout",
    "SOCKET_CONNECT_TIMEOUT": "socket_connect_timeout",
    "HEALTH_CHECK_INTERVAL": "health_check_interval",
    "MAX_CONNECTIONS": "max_connections",
    "POOL_TIMEOUT": "timeout",
}
RECYCLING_KEYS = ("MAX_LIFETIME", "MAX_IDLE", "LEAK_WARNING")
KNOWN_KEYS = ("URL", "BLOCKING", "CLIENT_NAME", "OPTIONS", *KEYWORD_OF_KEY, *RECYCLING_KEYS)
# Keys that may be None ("wait or block forever"); a checks warns about that.
NULLABLE_KEYS = ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT", "POOL_TIMEOUT")
# OPTIONS keys this app sets itself; giving them in OPTIONS would silently lose.
RESERVED_OPTIONS = ("connection_pool", "connection_class", "queue_class")


@dataclass(frozen=True)
class PoolSettings:
    """The validated settings of one alias."""

    alias: str
    url: str = field(repr=False)
    blocking: bool = True
    client_name: str | None = DEFAULT_CLIENT_NAME
    max_lifetime: float | None = None
    max_idle: float | None = None
    leak_warning: float | None = None
    # Only the keyword arguments the user gave: top-level keys and OPTIONS, merged.
    kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    @property
    def host(self) -> str | None:
        """The TCP host, or None for UNIX sockets and the fake backend."""
        if self.scheme in ("redis", "rediss"):
            return urlsplit(self.url).hostname or "localhost"
        return None

    def has_credentials(self) -> bool:
        parts = urlsplit(self.url)
        keys = ("password", "username", "credential_provider")
        return bool(parts.password or parts.username or any(self.kwargs.get(k) for k in keys))

    def secret_values(self) -> list[str]:
        """Every secret string of this alias, to scrub from text that may echo one."""
        parts = urlsplit(self.url)
        found = [unquote(parts.password)] if parts.password else []
        found += [v for k, v in parse_qsl(parts.query) if k in SECRET_OPTIONS]
        found += [v for k, v in self.kwargs.items() if k in SECRET_OPTIONS and isinstance(v, str)]
        return found

    def __repr__(self) -> str:
        return (
            f"PoolSettings(alias={self.alias!r}, url={self.safe_url!r}, "
            f"blocking={self.blocking!r}, client_name={self.client_name!r}, "
            f"kwargs={redact_options(self.kwargs)!r})"
        )


def setting_path(alias: str, key: str | None = None) -> str:
    """How messages name a place in the setting: ``REDIS_POOL['cache']['URL']``."""
    return f"{SETTING_NAME}[{alias!r}]" + (f"[{key!r}]" if key else "")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_number(alias: str, key: str, value: Any) -> None:
    if value is None and key in NULLABLE_KEYS:
        return
    if key == "MAX_CONNECTIONS":
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ImproperlyConfigured(f"{setting_path(alias, key)} must be a positive int, got {value!r}.")
        return
    if key == "HEALTH_CHECK_INTERVAL":
        allowed, zero_ok = "a number of seconds >= 0 (0 disables it)", True
    else:
        allowed, zero_ok = (
            "a positive number of seconds" + (" or None" if key in NULLABLE_KEYS else ""),
            False,
        )
    if not _is_number(value) or value < 0 or (value == 0 and not zero_ok):
        raise ImproperlyConfigured(f"{setting_path(alias, key)} must be {allowed}, got {value!r}.")


def _check_url(alias: str, url: Any) -> None:
    where = setting_path(alias, "URL")
    if not isinstance(url, str) or not url:
        raise ImproperlyConfigured(f"{where} must be a non-empty URL string, got {type(url).__name__}.")
    safe = redact_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(f"{where} is not a valid URL: {safe!r}.") from None
    if parts.scheme not in SCHEMES:
        schemes = ", ".join(f"{s}://" for s in SCHEMES)
        raise ImproperlyConfigured(
            f"{where} has scheme {parts.scheme + '://' if parts.scheme else 'none'} in {safe!r}; "
            f"use one of {schemes}."
        )
    if parts.scheme in ("redis", "rediss") and not parts.hostname:
        raise ImproperlyConfigured(f"{where} has no host: {safe!r}.")
    if parts.scheme == "unix" and not parts.path:
        raise ImproperlyConfigured(f"{where} has no socket path: {safe!r}.")
    db = parts.path.lstrip("/") if parts.scheme != "unix" else ""
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"{where} has a database {db!r} that is not a number: {safe!r}.")


def _unknown_key_error(alias: str, key: Any) -> ImproperlyConfigured:
    close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ImproperlyConfigured(
        f"{setting_path(alias)} has an unknown key {key!r}.{hint} "
        f"Known keys: {', '.join(KNOWN_KEYS)}; redis-py arguments go in 'OPTIONS'."
    )


def parse_alias(alias: Any, config: Any) -> PoolSettings:
    """Validate one alias's dict; raise ImproperlyConfigured naming alias and key."""
    if not isinstance(alias, str) or not alias:
        raise ImproperlyConfigured(f"{SETTING_NAME} aliases must be non-empty strings, got {alias!r}.")
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured(f"{setting_path(alias)} must be a dict, got {type(config).__name__}.")
    for key in config:
        if key not in KNOWN_KEYS:
            raise _unknown_key_error(alias, key)
    if "URL" not in config:
        raise ImproperlyConfigured(
            f"{setting_path(alias)} has no 'URL'. Set it, e.g. 'URL': 'redis://127.0.0.1:6379/0'."
        )
    url = config["URL"]
    _check_url(alias, url)

    blocking = config.get("BLOCKING", True)
    if not isinstance(blocking, bool):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'BLOCKING')} must be True or False, got {blocking!r}."
        )

    client_name = config.get("CLIENT_NAME", DEFAULT_CLIENT_NAME)
    if client_name is not None and (
        not isinstance(client_name, str)
        or not client_name
        or any(c.isspace() or c == ":" for c in client_name)
    ):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'CLIENT_NAME')} must be None or a non-empty string without spaces "
            f"or ':', got {client_name!r}."
        )

    options = config.get("OPTIONS", {})
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'OPTIONS')} must be a dict, got {type(options).__name__}."
        )
    for name in options:
        if not isinstance(name, str):
            raise ImproperlyConfigured(
                f"{setting_path(alias, 'OPTIONS')} keys must be strings, got {name!r}."
            )
        if name in RESERVED_OPTIONS:
            raise ImproperlyConfigured(
                f"{setting_path(alias, 'OPTIONS')} must not set {name!r}: django_redis_pool builds the pool "
                "and picks the connection class from the URL scheme."
            )

    kwargs: dict[str, Any] = {}
    for key, keyword in KEYWORD_OF_KEY.items():
        if key not in config:
            continue
        _check_number(alias, key, config[key])
        if keyword in options:
            raise ImproperlyConfigured(
                f"{setting_path(alias)} gives {keyword!r} twice: as {key!r} and in 'OPTIONS'. Keep {key!r}."
            )
        kwargs[keyword] = config[key]
    if "POOL_TIMEOUT" in config and not blocking:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'POOL_TIMEOUT')} has no effect with 'BLOCKING': False "
            "(a non-blocking pool raises at once when it is full). Remove one of them."
        )
    if "client_name" in options:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'OPTIONS')} must not set 'client_name'; use 'CLIENT_NAME' "
            "(a prefix: connections are named '<CLIENT_NAME>:<alias>:<host>:<pid>')."
        )
    kwargs.update(options)
    for key in RECYCLING_KEYS:  # provisional: validated fully on the conf branch
        value = config.get(key)
        if value is not None and (not _is_number(value) or value <= 0):
            raise ImproperlyConfigured(
                f"{setting_path(alias, key)} must be a positive number of seconds or None, got {value!r}."
            )
    return PoolSettings(
        alias=alias,
        url=url,
        blocking=blocking,
        client_name=client_name,
        max_lifetime=config.get("MAX_LIFETIME"),
        max_idle=config.get("MAX_IDLE"),
        leak_warning=config.get("LEAK_WARNING"),
        kwargs=MappingProxyType(kwargs),
    )


def parse_setting(value: Any) -> dict[str, PoolSettings]:
    """Validate a whole ``REDIS_POOL`` value."""
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict of aliases, got {type(value).__name__}.")
    return {alias: parse_alias(alias, config) for alias, config in value.items()}


@functools.cache
def get_settings() -> dict[str, PoolSettings]:
    """The parsed ``REDIS_POOL`` setting, cached until the setting changes."""
    return parse_setting(getattr(settings, SETTING_NAME, {}))


def clear_settings_cache() -> None:
    get_settings.cache_clear()
