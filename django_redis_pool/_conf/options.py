"""An alias's ``OPTIONS``: redis-py keyword arguments, passed through once they are checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .dotted import import_options
from .keys import KEY_OF_KEYWORD, RESERVED_OPTIONS
from .paths import setting_path


def _check_name(alias: str, where: str, name: Any) -> None:
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


def check_options(alias: str, options: Any) -> dict[str, Any]:
    """The alias's OPTIONS, validated, with their dotted paths imported."""
    where = setting_path(alias, "OPTIONS")
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, got {type(options).__name__}.")
    for name in options:
        _check_name(alias, where, name)
    db = options.get("db", 0)
    if not isinstance(db, int) or isinstance(db, bool) or db < 0:
        raise ImproperlyConfigured(f"{where}['db'] must be an int >= 0, got {db!r}.")
    return import_options(where, options)
