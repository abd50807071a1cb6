"""Settings of the distributed kinds of alias: Sentinel (``SENTINELS``...) and Cluster (``CLUSTER``...).

An alias is one of three kinds: a single server (``URL`` alone), a Sentinel-managed master or replica,
or a Redis Cluster. :mod:`django_redis_pool._conf.settings` calls :func:`parse_kind` and keeps
what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .dotted import import_options
from .paths import setting_path as _path
from .redaction import redact_options, redact_url

SENTINEL_KEYS = ("SENTINELS", "SERVICE_NAME", "ROLE", "SENTINEL_OPTIONS")
CLUSTER_KEYS = ("CLUSTER", "STARTUP_NODES")
KIND_KEYS = (*SENTINEL_KEYS, *CLUSTER_KEYS)
ROLES = ("master", "replica")

Address = tuple[str, int]


@dataclass(frozen=True)
class SentinelSettings:
    """Where the sentinels are and which service of theirs this alias follows."""

    sentinels: tuple[Address, ...]
    service_name: str
    role: str = "master"
    # redis-py keyword arguments for the connections to the sentinels themselves.
    sentinel_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_replica(self) -> bool:
        return self.role == "replica"

    def __repr__(self) -> str:
        return (
            f"SentinelSettings(sentinels={self.sentinels!r}, service_name={self.service_name!r}, "
            f"role={self.role!r}, sentinel_kwargs={redact_options(self.sentinel_kwargs)!r})"
        )


@dataclass(frozen=True)
class ClusterSettings:
    """The startup nodes of a Redis Cluster (the URL's host, when given, comes first)."""

    startup_nodes: tuple[Address, ...]


def _addresses(alias: str, key: str, value: Any) -> tuple[Address, ...]:
    example = "[('127.0.0.1', 26379), ('127.0.0.1', 26380)]"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise ImproperlyConfigured(
            f"{_path(alias, key)} must be a non-empty list of (host, port) pairs, e.g. {example}; "
            f"got {value!r}."
        )
    addresses = []
    for item in value:
        if (
            isinstance(item, str | bytes)
            or not isinstance(item, Sequence)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not item[0]
            or not isinstance(item[1], int)
            or isinstance(item[1], bool)
            or not 0 < item[1] < 65536
        ):
            raise ImproperlyConfigured(
                f"{_path(alias, key)} must hold (host, port) pairs with a port from 1 to 65535, got {item!r}."
            )
        addresses.append((item[0], item[1]))
    return tuple(addresses)


def _refuse_without(alias: str, config: Mapping[str, Any], keys: Sequence[str], needed: str) -> None:
    for key in keys:
        if key in config:
            raise ImproperlyConfigured(
                f"{_path(alias, key)} has no effect without {needed!r}: set {needed!r} too, or remove it."
            )


def _url_parts(alias: str, config: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(scheme, host, db) of the URL of a distributed alias, which must be redis:// or rediss://."""
    url = config.get("URL")
    if url is None:
        return "redis", None, ""
    where = _path(alias, "URL")
    if not isinstance(url, str) or "://" not in url:
        raise ImproperlyConfigured(f"{where} must be a redis:// or rediss:// URL string.")
    safe = redact_url(url)
    scheme = url.split("://", 1)[0]
    if scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(
            f"{where} has scheme {scheme}:// in {safe!r}; Sentinel and Cluster aliases take redis:// "
            "or rediss:// (TLS)."
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ImproperlyConfigured(f"{where} is not a valid URL: {safe!r}.") from None
    return scheme, host, parts.path.lstrip("/")


def _parse_sentinel(alias: str, config: Mapping[str, Any]) -> SentinelSettings:
    sentinels = _addresses(alias, "SENTINELS", config["SENTINELS"])
    service_name = config.get("SERVICE_NAME")
    if not isinstance(service_name, str) or not service_name or any(c.isspace() for c in service_name):
        raise ImproperlyConfigured(
            f"{_path(alias, 'SERVICE_NAME')} must be the name the sentinels monitor (their "
            f"'sentinel monitor <name> ...' line), a non-empty string without spaces; got {service_name!r}."
            if "SERVICE_NAME" in config
            else f"{_path(alias)} has 'SENTINELS' but no 'SERVICE_NAME': set it to the name the sentinels "
            "monitor, e.g. 'SERVICE_NAME': 'mymaster'."
        )
    role = config.get("ROLE", "master")
    if role not in ROLES:
        raise ImproperlyConfigured(f"{_path(alias, 'ROLE')} must be 'master' or 'replica', got {role!r}.")
    options = config.get("SENTINEL_OPTIONS", {})
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ImproperlyConfigured(
            f"{_path(alias, 'SENTINEL_OPTIONS')} must be a dict of redis-py arguments for the connections "
            f"to the sentinels, got {type(options).__name__}."
        )
    _, host, _ = _url_parts(alias, config)
    if host is not None:
        raise ImproperlyConfigured(
            f"{_path(alias, 'URL')} of a Sentinel alias must not name a host "
            f"({redact_url(config['URL'])!r}): "
            "the sentinels give the master's address. Keep the credentials and the database, e.g. "
            "'redis://:password@/0'."
        )
    return SentinelSettings(
        sentinels=sentinels,
        service_name=service_name,
        role=role,
        sentinel_kwargs=MappingProxyType(import_options(_path(alias, "SENTINEL_OPTIONS"), options)),
    )


def _parse_cluster(alias: str, config: Mapping[str, Any]) -> ClusterSettings:
    if config["CLUSTER"] is not True:
        raise ImproperlyConfigured(
            f"{_path(alias, 'CLUSTER')} must be True (or left out for a single server), "
            f"got {config['CLUSTER']!r}."
        )
    nodes = _addresses(alias, "STARTUP_NODES", config["STARTUP_NODES"]) if "STARTUP_NODES" in config else ()
    _, host, db = _url_parts(alias, config)
    if db not in ("", "0"):
        raise ImproperlyConfigured(
            f"{_path(alias, 'URL')} selects database {db!r}, but a Redis Cluster has only database 0: "
            f"use {redact_url(config['URL']).replace('/' + db, '/0')!r}."
        )
    if host is None and not nodes:
        raise ImproperlyConfigured(
            f"{_path(alias)} is a Cluster alias with no node to start from: set 'URL' to any node "
            "('redis://127.0.0.1:7000/0') or 'STARTUP_NODES' to a list of (host, port) pairs."
        )
    return ClusterSettings(startup_nodes=nodes)


def parse_kind(alias: str, config: Mapping[str, Any]) -> SentinelSettings | ClusterSettings | None:
    """The Sentinel or Cluster part of one alias's settings, or None for a single server."""
    if "SENTINELS" in config:
        if "CLUSTER" in config:
            raise ImproperlyConfigured(
                f"{_path(alias)} sets both 'SENTINELS' and 'CLUSTER': an alias is a Sentinel-managed "
                "server or a Cluster, not both."
            )
        _refuse_without(alias, config, ("STARTUP_NODES",), "CLUSTER")
        return _parse_sentinel(alias, config)
    _refuse_without(alias, config, ("SERVICE_NAME", "ROLE", "SENTINEL_OPTIONS"), "SENTINELS")
    if "CLUSTER" in config:
        return _parse_cluster(alias, config)
    _refuse_without(alias, config, ("STARTUP_NODES",), "CLUSTER")
    return None
