"""Pools derived from ``CACHES``: a ``PooledRedisCache`` configured the way django-redis is.

A cache whose ``LOCATION`` names a ``REDIS_POOL`` alias uses that alias's pool. Any other ``LOCATION``
(a URL, a list or comma-separated string of URLs, django-redis's ``redis://host:port:db``) gets pools of
its own, one per server: its ``OPTIONS`` (django-redis's keys, and Django's lower-case redis-py keyword
arguments) are translated here into a ``REDIS_POOL``-shaped dict, which ``settings.parse_alias``
validates like any alias. The cache's own keys (serializer, herd, ignored exceptions...) are the
backend's: they are listed here so that every key is either taken or refused with its reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .cache_location import location_urls, sentinel_url
from .cache_places import cache_alias, is_cache_alias

BACKEND_MARKER = "uses_redis_pool"  # a class attribute of PooledRedisCache (and its subclasses)
DJANGO_REDIS = "django_redis.client."
CLIENT_CLASSES = {
    f"{DJANGO_REDIS}DefaultClient": "default",
    f"{DJANGO_REDIS}default.DefaultClient": "default",
    f"{DJANGO_REDIS}SentinelClient": "sentinel",
    f"{DJANGO_REDIS}sentinel.SentinelClient": "sentinel",
    f"{DJANGO_REDIS}HerdClient": "herd",
    f"{DJANGO_REDIS}herd.HerdClient": "herd",
}
SHARD_CLIENTS = (f"{DJANGO_REDIS}ShardClient", f"{DJANGO_REDIS}sharded.ShardClient")
FACTORIES = {
    "django_redis.pool.ConnectionFactory": False,
    "django_redis.pool.SentinelConnectionFactory": True,
}
POOL_CLASSES = {
    "redis.ConnectionPool": False,
    "redis.connection.ConnectionPool": False,
    "redis.BlockingConnectionPool": True,
    "redis.connection.BlockingConnectionPool": True,
    "redis.sentinel.SentinelConnectionPool": None,
}
CLIENT_CLASSES_OF_REDIS = (
    "redis.Redis",
    "redis.client.Redis",
    "redis.StrictRedis",
    "redis.client.StrictRedis",
)
# Keys the backend reads (see _cache/options.py); the codec's are SERIALIZER, COMPRESSOR, PICKLE_VERSION.
CACHE_KEYS = (
    "CLIENT_CLASS",
    "SERIALIZER",
    "COMPRESSOR",
    "PICKLE_VERSION",
    "serializer",
    "IGNORE_EXCEPTIONS",
    "LOG_IGNORED_EXCEPTIONS",
    "CLOSE_CONNECTION",
    "REPLICA_READ_ONLY",
)
# Keys that build the pools of a cache with URLs.
POOL_KEYS = (
    "SOCKET_TIMEOUT",
    "SOCKET_CONNECT_TIMEOUT",
    "PASSWORD",
    "USERNAME",
    "CONNECTION_POOL_KWARGS",
    "CONNECTION_POOL_CLASS",
    "CONNECTION_FACTORY",
    "PARSER_CLASS",
    "REDIS_CLIENT_CLASS",
    "REDIS_CLIENT_KWARGS",
    "SENTINELS",
    "SENTINEL_KWARGS",
)
# Keys of CONNECTION_POOL_KWARGS (and Django's lower-case OPTIONS) that are REDIS_POOL keys.
TOP_LEVEL = {
    "max_connections": "MAX_CONNECTIONS",
    "timeout": "POOL_TIMEOUT",
    "socket_timeout": "SOCKET_TIMEOUT",
    "socket_connect_timeout": "SOCKET_CONNECT_TIMEOUT",
    "health_check_interval": "HEALTH_CHECK_INTERVAL",
}


def options_path(name: str, key: str | None = None) -> str:
    return f"CACHES[{name!r}]['OPTIONS']" + (f"[{key!r}]" if key is not None else "")


def is_pooled_backend(backend: Any) -> bool:
    """Whether a CACHES 'BACKEND' value is PooledRedisCache or a subclass of it."""
    if backend == "django_redis_pool.cache.PooledRedisCache":
        return True
    try:
        cls = import_string(backend) if isinstance(backend, str) else backend
    except ImportError:
        return False
    return isinstance(cls, type) and bool(getattr(cls, BACKEND_MARKER, False))


def client_kind(name: str, options: Mapping[str, Any]) -> str:
    """``"default"``, ``"sentinel"`` or ``"herd"``: what OPTIONS['CLIENT_CLASS'] asks for."""
    path = options.get("CLIENT_CLASS", f"{DJANGO_REDIS}DefaultClient")
    if path in SHARD_CLIENTS:
        raise ImproperlyConfigured(
            f"{options_path(name, 'CLIENT_CLASS')} is django-redis's ShardClient, which PooledRedisCache "
            "does not take: it spreads keys over servers by a hash ring of its own. To shard, use Redis "
            "Cluster: a REDIS_POOL alias with 'CLUSTER': True, through get_redis(alias) (a cache cannot run "
            "on it: get_many and set_many are multi-key commands, see check E003); or one cache per server."
        )
    if path not in CLIENT_CLASSES:
        raise ImproperlyConfigured(
            f"{options_path(name, 'CLIENT_CLASS')} is {path!r}; PooledRedisCache is itself the client. "
            f"It takes django-redis's {', '.join(sorted({p.rsplit('.', 1)[1] for p in CLIENT_CLASSES}))} "
            "(same behaviour), not other classes."
        )
    return CLIENT_CLASSES[path]


def _unknown_key(name: str, key: Any) -> ImproperlyConfigured:
    if key in ("MAX_ENTRIES", "CULL_FREQUENCY"):
        return ImproperlyConfigured(
            f"{options_path(name, key)} is refused: Redis evicts by its own maxmemory-policy, "
            "so PooledRedisCache has no MAX_ENTRIES or CULL_FREQUENCY (Django's RedisCache ignores them)."
        )
    known = [*CACHE_KEYS, *POOL_KEYS]
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ImproperlyConfigured(
        f"{options_path(name, key)} is not an option of PooledRedisCache.{hint} It takes django-redis's "
        f"keys ({', '.join(known)}) and lower-case redis-py connection arguments."
    )


def checked_options(name: str, options: Any) -> Mapping[str, Any]:
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{options_path(name)} must be a dict, got {type(options).__name__}.")
    for key in options:
        if not isinstance(key, str) or (key.upper() == key and key not in (*CACHE_KEYS, *POOL_KEYS)):
            raise _unknown_key(name, key)
    return options


def pool_options_on_alias(name: str, options: Mapping[str, Any]) -> list[str]:
    """Pool keys given to a cache whose LOCATION is a REDIS_POOL alias (they belong to the alias)."""
    return sorted(k for k in options if k in POOL_KEYS or (k.lower() == k and k != "serializer"))


def _class_choice(name: str, key: str, path: Any, choices: Mapping[str, Any], why: str) -> Any:
    if path not in choices:
        raise ImproperlyConfigured(
            f"{options_path(name, key)} is {path!r}; PooledRedisCache takes {', '.join(choices)} here: {why}"
        )
    return choices[path]


def _pool_kwargs(name: str, options: Mapping[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """redis-py arguments from CONNECTION_POOL_KWARGS and lower-case OPTIONS; REDIS_POOL keys lifted."""
    given = options.get("CONNECTION_POOL_KWARGS", {})
    if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
        raise ImproperlyConfigured(f"{options_path(name, 'CONNECTION_POOL_KWARGS')} must be a dict.")
    lower = {k: v for k, v in options.items() if k.lower() == k and k != "serializer"}
    kwargs: dict[str, Any] = {}
    for key, value in {**lower, **given}.items():
        if key in TOP_LEVEL:
            config[TOP_LEVEL[key]] = value
        elif key in ("pool_class", "connection_pool_class"):
            config["BLOCKING"] = _class_choice(name, key, value, POOL_CLASSES, "this app's pools replace it.")
        elif key == "parser_class" and isinstance(value, str):
            kwargs[key] = _import(name, key, value)
        else:
            kwargs[key] = value
    # As django-redis (a pool from its URL): no retries unless given. A REDIS_POOL alias gets
    # redis.Redis's default instead, which on redis-py 8 retries a failed connect 10 times with a
    # backoff: seconds per command when a cache server is down, where IGNORE_EXCEPTIONS expects a miss.
    kwargs.setdefault("retry", None)
    return kwargs


def _import(name: str, key: str, path: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{options_path(name, key)} cannot be imported: {exc}") from None


def _credentials_and_timeouts(name: str, options: Mapping[str, Any], config: dict[str, Any]) -> None:
    for key in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        if options.get(key) is not None:
            config[key] = options[key]
    for key in ("PASSWORD", "USERNAME"):
        if options.get(key):
            config["OPTIONS"][key.lower()] = options[key]
    if "PARSER_CLASS" in options:
        config["OPTIONS"]["parser_class"] = _import(name, "PARSER_CLASS", options["PARSER_CLASS"])
    client_class = options.get("REDIS_CLIENT_CLASS", "redis.client.Redis")
    if client_class not in CLIENT_CLASSES_OF_REDIS:
        raise ImproperlyConfigured(
            f"{options_path(name, 'REDIS_CLIENT_CLASS')} is {client_class!r}: the pooled client of "
            "PooledRedisCache is a redis.Redis shared by the process; a subclass of your own is not taken."
        )
    if options.get("REDIS_CLIENT_KWARGS"):
        raise ImproperlyConfigured(
            f"{options_path(name, 'REDIS_CLIENT_KWARGS')} is refused: the client is shared and built on "
            "the pool, which ignores connection arguments given to it. Give them in CONNECTION_POOL_KWARGS."
        )


def _pool_config(
    name: str, options: Mapping[str, Any], url: str, sentinel: bool, replica: bool
) -> dict[str, Any]:
    """One server's REDIS_POOL-shaped dict."""
    config: dict[str, Any] = {"OPTIONS": {}}
    config["OPTIONS"].update(_pool_kwargs(name, options, config))
    if "CONNECTION_POOL_CLASS" in options:
        blocking = _class_choice(
            name,
            "CONNECTION_POOL_CLASS",
            options["CONNECTION_POOL_CLASS"],
            POOL_CLASSES,
            "this app's pools (bounded, counted, recycled) replace it; the Sentinel pool needs SENTINELS.",
        )
        if blocking is None and not sentinel:
            raise ImproperlyConfigured(
                f"{options_path(name, 'CONNECTION_POOL_CLASS')} is Sentinel's: set SENTINELS."
            )
        if blocking is not None:
            config["BLOCKING"] = blocking
    _credentials_and_timeouts(name, options, config)
    config["URL"] = sentinel_url(name, options, url, config, replica) if sentinel else url
    return config


def cache_pool_configs(
    caches: Any, pool_aliases: Sequence[str], default_factory: str | None
) -> dict[str, Any]:
    """REDIS_POOL-shaped configs of the pools of every PooledRedisCache with URLs, by derived alias."""
    if not isinstance(caches, Mapping):
        return {}
    for alias in pool_aliases:
        if is_cache_alias(alias):
            raise ImproperlyConfigured(
                f"REDIS_POOL alias {alias!r} is refused: names starting CACHES[ are this app's."
            )
    configs: dict[str, Any] = {}
    for name, params in caches.items():
        if not isinstance(params, Mapping) or not is_pooled_backend(params.get("BACKEND")):
            continue
        urls = location_urls(name, params.get("LOCATION", ""))
        if urls is None:
            continue  # a REDIS_POOL alias: the cache's own keys are checked with it (E002)
        options = checked_options(name, params.get("OPTIONS", {}))
        kind = client_kind(name, options)
        factory = (
            options.get("CONNECTION_FACTORY") or default_factory or "django_redis.pool.ConnectionFactory"
        )
        sentinel = _class_choice(
            name,
            "CONNECTION_FACTORY",
            factory,
            FACTORIES,
            "the pools are this app's; Sentinel is given by SENTINELS.",
        )
        # SENTINELS without django-redis's Sentinel factory would connect to the service name as a host.
        sentinel = sentinel or bool(options.get("SENTINELS"))
        if sentinel and not options.get("SENTINELS"):
            raise ImproperlyConfigured(
                f"{options_path(name, 'SENTINELS')} must list the sentinels' (host, port)."
            )
        if kind == "sentinel" and len(urls) == 1:
            urls = [urls[0], urls[0]]  # django-redis's SentinelClient: the master, then its replicas
        for index, url in enumerate(urls):
            replica = kind == "sentinel" and index > 0
            configs[cache_alias(name, index)] = _pool_config(name, options, url, bool(sentinel), replica)
    return configs
