"""The top-level keys of an alias (``URL``, ``MAX_CONNECTIONS``...): which exist, what each accepts."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .kinds import KIND_KEYS
from .paths import setting_path
from .url import URLArguments

DEFAULT_CLIENT_NAME = "django_redis_pool"
# POOL_TIMEOUT when an alias does not give one (redis-py's blocking pool waits 20 s). A checkout
# waits only while every connection is busy; Redis answers in about a millisecond, so a wait of
# seconds means the pool is too small or connections leak. Five seconds lets a burst drain, fails a
# request well inside the 30 s that gunicorn and most gateways give it, and is redis-py 8's default
# socket timeout: waiting for a connection costs at most what waiting for a reply does.
DEFAULT_POOL_TIMEOUT = 5.0

# The top-level key of each alias and the redis-py keyword it becomes. A key a user does not give
# is not passed on, so the installed redis-py's default stays in force (POOL_TIMEOUT excepted).
KEYWORD_OF_KEY = {
    "SOCKET_TIMEOUT": "socket_timeout",
    "SOCKET_CONNECT_TIMEOUT": "socket_connect_timeout",
    "HEALTH_CHECK_INTERVAL": "health_check_interval",
    "MAX_CONNECTIONS": "max_connections",
    "POOL_TIMEOUT": "timeout",
}
KEY_OF_KEYWORD = {keyword: key for key, keyword in KEYWORD_OF_KEY.items()}
# Keys the pool reads itself; never passed to redis-py.
POOL_KEYS = ("MAX_LIFETIME", "MAX_IDLE", "LEAK_WARNING", "COMMAND_TIMEOUT")
KNOWN_KEYS = (
    "URL",
    "BLOCKING",
    "CLIENT_NAME",
    "OPTIONS",
    *KEYWORD_OF_KEY,
    *POOL_KEYS,
    "CIRCUIT_BREAKER",
    *KIND_KEYS,
)
# Keys that may be None ("wait or block forever", "no limit"); a check warns about the timeouts.
NULLABLE_KEYS = ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT", "POOL_TIMEOUT", *POOL_KEYS)
# No duration may be longer: every timer Python hands it to accepts it (poll() takes an int of
# milliseconds, about 24.8 days; threading.TIMEOUT_MAX), and no wait on Redis should be longer.
MAX_SECONDS = 86_400
# OPTIONS keys this app sets itself; giving them in OPTIONS would silently lose.
RESERVED_OPTIONS = ("connection_pool", "connection_class", "queue_class")
# What Redis accepts in CLIENT SETNAME: '!'..'~'; ':' separates the parts of our names.
CLIENT_NAME_CHARS = frozenset(chr(c) for c in range(ord("!"), ord("~") + 1)) - {":"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def allowed(key: str, value: Any) -> str | None:
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


def check_number(alias: str, key: str, value: Any) -> None:
    problem = allowed(key, value)
    if problem is not None:
        raise ImproperlyConfigured(f"{setting_path(alias, key)} must be {problem}, got {value!r}.")


def check_known_keys(alias: str, config: Mapping[Any, Any]) -> None:
    """Every key is one of KNOWN_KEYS; an unknown one gets a did-you-mean that ignores case."""
    for key in config:
        if key in KNOWN_KEYS:
            continue
        by_upper = {k.upper(): k for k in KNOWN_KEYS}
        close = difflib.get_close_matches(str(key).upper(), list(by_upper), n=1)
        hint = f" Did you mean {by_upper[close[0]]!r}?" if close else ""
        raise ImproperlyConfigured(
            f"{setting_path(alias)} has an unknown key {key!r}.{hint} "
            f"Known keys: {', '.join(KNOWN_KEYS)}; redis-py arguments go in 'OPTIONS'."
        )


def check_client_name(alias: str, client_name: Any) -> None:
    if client_name is None:
        return
    if not isinstance(client_name, str) or not client_name or not set(client_name) <= CLIENT_NAME_CHARS:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'CLIENT_NAME')} must be None or a non-empty string of printable ASCII "
            f"characters ('!' to '~', as Redis requires) other than ':', got {client_name!r}."
        )


def check_url_arguments(
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
            problem = allowed(key, given.values[keyword])
            if problem is not None:
                raise ImproperlyConfigured(
                    f"{where} sets {keyword!r} (like {key!r}) to {given.values[keyword]!r}; it must be "
                    f"{problem.removesuffix(', or None')}."
                )
    if "timeout" in given.places and config.get("BLOCKING", True) is False:
        raise ImproperlyConfigured(
            f"{where} sets 'timeout' (POOL_TIMEOUT), which has no effect with 'BLOCKING': False. "
            "Remove one of them."
        )


def keyword_arguments(
    alias: str, config: Mapping[str, Any], blocking: bool, url: URLArguments
) -> dict[str, Any]:
    """The redis-py keyword arguments of the top-level keys, validated, with POOL_TIMEOUT's default."""
    kwargs: dict[str, Any] = {}
    for key, keyword in KEYWORD_OF_KEY.items():
        if key in config:
            check_number(alias, key, config[key])
            kwargs[keyword] = config[key]
    for key in POOL_KEYS:
        check_number(alias, key, config.get(key))
    if "POOL_TIMEOUT" in config and not blocking:
        raise ImproperlyConfigured(
            f"{setting_path(alias, 'POOL_TIMEOUT')} has no effect with 'BLOCKING': False "
            "(a non-blocking pool raises at once when it is full). Remove one of them."
        )
    if blocking and "timeout" not in kwargs and "timeout" not in url.places:
        kwargs["timeout"] = DEFAULT_POOL_TIMEOUT
    return kwargs
