"""Parse and validate the ``REDIS_POOL`` setting into frozen dataclasses.

Nothing else in the package reads ``settings.REDIS_POOL``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .breaker import parse_breaker
from .caches import cache_pool_configs
from .keys import (
    DEFAULT_CLIENT_NAME,
    check_client_name,
    check_known_keys,
    check_url_arguments,
    keyword_arguments,
)
from .kinds import ClusterSettings, SentinelSettings, parse_kind
from .options import check_options
from .paths import SETTING_NAME
from .paths import setting_path as setting_path  # imported from here by the cache backend and the checks
from .redaction import SECRET_OPTIONS, redact_options, redact_url, url_secrets
from .url import check_url

DEFAULT_ALIAS = "default"


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
    # CIRCUIT_BREAKER: (failures, first probe delay, longest probe delay); None: off.
    breaker: tuple[int, float, float] | None = (5, 1.0, 10.0)
    # COMMAND_TIMEOUT; when the alias does not give it, derived from the socket timeouts.
    command_timeout: float | None = None
    command_timeout_derived: bool = True
    # Set for a Sentinel alias, and for a Cluster alias; neither for a single server.
    sentinel: SentinelSettings | None = None
    cluster: ClusterSettings | None = None
    # The keyword arguments the user gave (top-level keys and OPTIONS, merged), and POOL_TIMEOUT's
    # default. What the URL gives is not here: redis-py's from_url reads it.
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
            f"leak_warning={self.leak_warning!r}, breaker={self.breaker!r}, "
            + (f"sentinel={self.sentinel!r}, " if self.sentinel is not None else "")
            + (f"cluster={self.cluster!r}, " if self.cluster is not None else "")
            + f"kwargs={redact_options(self.kwargs)!r})"
        )


def _url(alias: str, config: Mapping[str, Any], kind: SentinelSettings | ClusterSettings | None) -> str:
    """The alias's URL: a Cluster alias may give only STARTUP_NODES, a Sentinel alias no host."""
    if isinstance(kind, ClusterSettings) and "URL" not in config:
        host, port = kind.startup_nodes[0]
        return f"redis://{host}:{port}/0"
    if "URL" not in config and not isinstance(kind, SentinelSettings):
        raise ImproperlyConfigured(
            f"{setting_path(alias)} has no 'URL'. Set it, e.g. 'URL': 'redis://127.0.0.1:6379/0'."
        )
    url: str = config.get("URL", "redis://")
    return url


def _blocking(alias: str, config: Mapping[str, Any]) -> bool:
    blocking = config.get("BLOCKING", True)
    if not isinstance(blocking, bool):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'BLOCKING')} must be True or False, got {blocking!r}."
        )
    return blocking


def parse_alias(alias: Any, config: Any) -> PoolSettings:
    """Validate one alias's dict; raise ImproperlyConfigured naming alias and key."""
    if not isinstance(alias, str) or not alias:
        raise ImproperlyConfigured(f"{SETTING_NAME} aliases must be non-empty strings, got {alias!r}.")
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured(f"{setting_path(alias)} must be a dict, got {type(config).__name__}.")
    check_known_keys(alias, config)
    kind = parse_kind(alias, config)
    url = _url(alias, config, kind)
    url_arguments = check_url(
        setting_path(alias, "URL"), url, require_host=not isinstance(kind, SentinelSettings)
    )
    if kind is not None and (url.startswith(("unix:", "fakeredis:"))):
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'URL')} of a Sentinel or Cluster alias must be redis:// or rediss://."
        )
    blocking = _blocking(alias, config)
    client_name = config.get("CLIENT_NAME", DEFAULT_CLIENT_NAME)
    check_client_name(alias, client_name)
    options = check_options(alias, config.get("OPTIONS", {}))
    kwargs = keyword_arguments(alias, config, blocking, url_arguments)
    check_url_arguments(alias, config, options, url_arguments)
    kwargs.update(options)
    return PoolSettings(
        alias=alias,
        url=url,
        blocking=blocking,
        client_name=client_name,
        max_lifetime=config.get("MAX_LIFETIME"),
        max_idle=config.get("MAX_IDLE"),
        leak_warning=config.get("LEAK_WARNING"),
        breaker=parse_breaker(alias, config),
        command_timeout=config.get("COMMAND_TIMEOUT"),
        command_timeout_derived="COMMAND_TIMEOUT" not in config,
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
    """The parsed ``REDIS_POOL`` setting, cached until the setting changes."""
    parsed = parse_setting(getattr(settings, SETTING_NAME, {}))
    factory = getattr(settings, "DJANGO_REDIS_CONNECTION_FACTORY", None)
    configs = cache_pool_configs(getattr(settings, "CACHES", {}), list(parsed), factory)
    parsed.update({alias: parse_alias(alias, config) for alias, config in configs.items()})
    return parsed


def clear_settings_cache() -> None:
    get_settings.cache_clear()
