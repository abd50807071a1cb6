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
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .cache_places import cache_setting_path, is_cache_alias
from .caches import cache_pool_configs
from .kinds import KIND_KEYS, ClusterSettings, SentinelSettings, parse_kind
from .redaction import SECRET_OPTIONS, redact_options, redact_url, url_secrets
from .url import URLArguments, check_url

SETTING_NAME = "REDIS_POOL"
DEFAULT_ALIAS = "default"
DEFAULT_CLIENT_NAME = "django_redis_pool"

# The top-level key of each alias and the redis-py keyword it becomes. A key a user
# does not give is not passed on, so the installed redis-py's default stays in force.
KEYWORD_OF_KEY = {
    "SOCKET_TIMEOUT": "socket_timeout",
    "SOCKET_CONNECT_TIMEOUT": "socket_connect_timeout",
    "HEALTH_CHECK_INTERVAL": "health_check_interval",
    "MAX_CONNECTIONS": "max_connections",
    "POOL_TIMEOUT": "timeout",
}
KEY_OF_KEYWORD = {keyword: key for key, keyword in KEYWORD_OF_KEY.items()}
# Keys the pool reads itself; never passed to redis-py.
POOL_KEYS = ("MAX_LIFETIME", "MAX_IDLE", "LEAK_WARNING")
KNOWN_KEYS = ("URL", "BLOCKING", "CLIENT_NAME", "OPTIONS", *KEYWORD_OF_KEY, *POOL_KEYS, *KIND_KEYS)
# Keys that may be None ("wait or block forever", "no limit"); a check warns about the timeouts.
NULLABLE_KEYS = ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT", "POOL_TIMEOUT", *POOL_KEYS)
# No duration may be longer: every timer Python hands it to accepts it (poll() takes an int of
# milliseconds, about 24.8 days; threading.TIMEOUT_MAX), and no wait on Redis should be longer.
MAX_SECONDS = 86_400
# OPTIONS keys this app sets itself; giving them in OPTIONS would silently lose.
RESERVED_OPTIONS = ("connection_pool", "connection_class", "queue_class")
# What Redis accepts in CLIENT SETNAME: '!'..'~'; ':' separates the parts of our names.
CLIENT_NAME_CHARS = frozenset(chr(c) for c in range(ord("!"), ord("~") + 1)) - {":"}


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
    # Set for a Sentinel alias, and for a Cluster alias; neither for a single server.
    sentinel: SentinelSettings | None = None
    cluster: ClusterSettings | None = None
    # Only the keyword arguments the user gave: top-level keys and OPTIONS, merged.
    # What the URL gives is not here: redis-py's from_url reads it.
    kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        """``"server"``, ``"sentinel"`` or ``"cluster"``: which builder makes this alias's pools."""
        if self.sentinel is not None:
            return "sentinel"
        return "cluster" if self.cluster is not None else "server"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    @property
    def host(self) -> str | None:
        """The TCP host, or None for UNIX sockets and the fake backend."""
        if self.scheme in ("redis", "rediss") and self.sentinel is None:
            return urlsplit(self.url).hostname or "localhost"
        return None

    def has_credentials(self) -> bool:
        parts = urlsplit(self.url)
        keys = ("password", "username", "credential_provider")
        return bool(parts.password or parts.username or any(self.kwargs.get(k) for k in keys))

    def secret_values(self) -> list[str]:
        """Every secret string of this alias, to scrub from text that may echo one."""
        found = url_secrets(self.url)
        found += [v for k, v in self.kwargs.items() if k in SECRET_OPTIONS and isinstance(v, str)]
        return found

    def __repr__(self) -> str:
        return (
            f"PoolSettings(alias={self.alias!r}, url={self.safe_url!r}, "
            f"blocking={self.blocking!r}, client_name={self.client_name!r}, "
            f"max_lifetime={self.max_lifetime!r}, max_idle={self.max_idle!r}, "
            f"leak_warning={self.leak_warning!r}, "
            + (f"sentinel={self.sentinel!r}, " if self.sentinel is not None else "")
            + (f"cluster={self.cluster!r}, " if self.cluster is not None else "")
            + f"kwargs={redact_options(self.kwargs)!r})"
        )


def setting_path(alias: str, key: str | None = None) -> str:
    """How messages name a place in the setting: ``REDIS_POOL['cache']['URL']``."""
    if is_cache_alias(alias):
        return cache_setting_path(alias, key)
    return f"{SETTING_NAME}[{alias!r}]" + (f"[{key!r}]" if key else "")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _allowed(key: str, value: Any) -> str | None:
    """What ``key`` must be, if ``value`` is not that; None when it is fine."""
    if value is None and key in NULLABLE_KEYS:
        return None
    if key == "MAX_CONNECTIONS":
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return None
        return "a positive int"
    # Chained comparisons: NaN fails them all, and an int too large for a float still compares.
    if key == "HEALTH_CHECK_INTERVAL":
        if _is_number(value) and 0 <= value <= MAX_SECONDS:
            return None
        return f"a number of seconds from 0 (off) to {MAX_SECONDS} (one day)"
    if _is_number(value) and 0 < value <= MAX_SECONDS:
        return None
    return f"a positive number of seconds, at most {MAX_SECONDS} (one day)" + (
        ", or None" if key in NULLABLE_KEYS else ""
    )


def _check_number(alias: str, key: str, value: Any) -> None:
    allowed = _allowed(key, value)
    if allowed is not None:
        raise ImproperlyConfigured(f"{setting_path(alias, key)} must be {allowed}, got {value!r}.")


def _unknown_key_error(alias: str, key: Any) -> ImproperlyConfigured:
    by_upper = {k.upper(): k for k in KNOWN_KEYS}
    close = difflib.get_close_matches(str(key).upper(), list(by_upper), n=1)
    hint = f" Did you mean {by_upper[close[0]]!r}?" if close else ""
    return ImproperlyConfigured(
        f"{setting_path(alias)} has an unknown key {key!r}.{hint} "
        f"Known keys: {', '.join(KNOWN_KEYS)}; redis-py arguments go in 'OPTIONS'."
    )


def _check_client_name(alias: str, client_name: Any) -> None:
    if client_name is None:
        return
    if not isinstance(client_name, str) or not client_name or not set(client_name) <= CLIENT_NAME_CHARS:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'CLIENT_NAME')} must be None or a non-empty string of printable ASCII "
            f"characters ('!' to '~', as Redis requires) other than ':', got {client_name!r}."
        )


def _check_options(alias: str, options: Any) -> Mapping[str, Any]:
    where = setting_path(alias, "OPTIONS")
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, got {type(options).__name__}.")
    for name in options:
        if not isinstance(name, str):
            raise ImproperlyConfigured(f"{where} keys must be strings, got {name!r}.")
        if name in RESERVED_OPTIONS:
            raise ImproperlyConfigured(
                f"{where} must not set {name!r}: django_redis_pool builds the pool "
                "and picks the connection class from the URL scheme."
            )
        if name == "client_name":
            raise ImproperlyConfigured(
                f"{where} must not set 'client_name'; use 'CLIENT_NAME' "
                "(a prefix: connections are named '<CLIENT_NAME>:<alias>:<host>:<pid>')."
            )
        if name in KEY_OF_KEYWORD:
            key = KEY_OF_KEYWORD[name]
            raise ImproperlyConfigured(
                f"{where} must not set {name!r}: use {key!r} in {setting_path(alias)}, which is validated."
            )
    db = options.get("db", 0)
    if not isinstance(db, int) or isinstance(db, bool) or db < 0:
        raise ImproperlyConfigured(f"{where}['db'] must be an int >= 0, got {db!r}.")
    return options


def _check_url_arguments(
    alias: str, config: Mapping[str, Any], options: Mapping[str, Any], given: URLArguments
) -> None:
    """A value the URL gives is validated like its key, and may not be given a second time."""
    where = setting_path(alias, "URL")
    for keyword, place in given.places.items():
        if keyword in (*RESERVED_OPTIONS, "client_name"):
            raise ImproperlyConfigured(
                f"{where} must not set {keyword!r} (its {place}): django_redis_pool sets it"
                + (", from 'CLIENT_NAME'." if keyword == "client_name" else ".")
            )
        key = KEY_OF_KEYWORD.get(keyword)
        if key is not None and key in config:
            raise ImproperlyConfigured(
                f"{setting_path(alias)} gives {keyword!r} twice: as {key!r} and in 'URL' (its {place}). "
                "Keep one."
            )
        if keyword in options:
            raise ImproperlyConfigured(
                f"{setting_path(alias)} gives {keyword!r} twice: in 'OPTIONS' and in 'URL' (its {place}). "
                "Keep one."
            )
        if key is not None and keyword in given.values:
            allowed = _allowed(key, given.values[keyword])
            if allowed is not None:
                raise ImproperlyConfigured(
                    f"{where} sets {keyword!r} (like {key!r}) to {given.values[keyword]!r}; it must be "
                    f"{allowed.removesuffix(', or None')}."
                )
    if "timeout" in given.places and config.get("BLOCKING", True) is False:
        raise ImproperlyConfigured(
            f"{where} sets 'timeout' (POOL_TIMEOUT), which has no effect with 'BLOCKING': False. "
            "Remove one of them."
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
    kind = parse_kind(alias, config)
    if isinstance(kind, ClusterSettings) and "URL" not in config:
        host, port = kind.startup_nodes[0]
        config = {**config, "URL": f"redis://{host}:{port}/0"}
    if "URL" not in config and not isinstance(kind, SentinelSettings):
        raise ImproperlyConfigured(
            f"{setting_path(alias)} has no 'URL'. Set it, e.g. 'URL': 'redis://127.0.0.1:6379/0'."
        )
    url = config.get("URL", "redis://")
    url_arguments = check_url(
        setting_path(alias, "URL"), url, require_host=not isinstance(kind, SentinelSettings)
    )
    if kind is not None and (url.startswith(("unix:", "fakeredis:"))):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'URL')} of a Sentinel or Cluster alias must be redis:// or rediss://."
        )

    blocking = config.get("BLOCKING", True)
    if not isinstance(blocking, bool):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'BLOCKING')} must be True or False, got {blocking!r}."
        )
    client_name = config.get("CLIENT_NAME", DEFAULT_CLIENT_NAME)
    _check_client_name(alias, client_name)
    options = _check_options(alias, config.get("OPTIONS", {}))

    kwargs: dict[str, Any] = {}
    for key, keyword in KEYWORD_OF_KEY.items():
        if key in config:
            _check_number(alias, key, config[key])
            kwargs[keyword] = config[key]
    for key in POOL_KEYS:
        _check_number(alias, key, config.get(key))
    if "POOL_TIMEOUT" in config and not blocking:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'POOL_TIMEOUT')} has no effect with 'BLOCKING': False "
            "(a non-blocking pool raises at once when it is full). Remove one of them."
        )
    _check_url_arguments(alias, config, options, url_arguments)
    kwargs.update(options)
    return PoolSettings(
        alias=alias,
        url=url,
        blocking=blocking,
        client_name=client_name,
        max_lifetime=config.get("MAX_LIFETIME"),
        max_idle=config.get("MAX_IDLE"),
        leak_warning=config.get("LEAK_WARNING"),
        sentinel=kind if isinstance(kind, SentinelSettings) else None,
        cluster=kind if isinstance(kind, ClusterSettings) else None,
        kwargs=MappingProxyType(kwargs),
    )


def parse_setting(value: Any) -> dict[str, PoolSettings]:
    """Validate a whole ``REDIS_POOL`` value."""
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict of aliases, got {type(value).__name__}.")
    return {alias: parse_alias(alias, config) for alias, config in value.items()}


@functools.cache
def get_settings() -> dict[str, PoolSettings]:
    """The parsed ``REDIS_POOL`` setting and the pools of ``CACHES`` with URLs, cached until a change."""
    parsed = parse_setting(getattr(settings, SETTING_NAME, {}))
    factory = getattr(settings, "DJANGO_REDIS_CONNECTION_FACTORY", None)
    configs = cache_pool_configs(getattr(settings, "CACHES", {}), list(parsed), factory)
    parsed.update({alias: parse_alias(alias, config) for alias, config in configs.items()})
    return parsed


def clear_settings_cache() -> None:
    get_settings.cache_clear()
