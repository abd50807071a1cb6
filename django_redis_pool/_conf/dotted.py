"""Dotted paths in ``OPTIONS`` and ``SENTINEL_OPTIONS``, imported when the setting is parsed.

redis-py takes a class, a function or an object for a few arguments; a settings file may name one by
its dotted path instead, as Django's own cache ``OPTIONS`` name a ``parser_class``. A path that does not
import, or names the wrong kind of thing, fails at startup naming the alias and the key, not at the
first request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def _is_object(value: Any) -> bool:
    return not inspect.isclass(value) and not inspect.ismodule(value)


def _describe(value: Any) -> str:
    if inspect.isclass(value):
        return f"the class {value.__module__}.{value.__qualname__}"
    if inspect.ismodule(value):
        return f"the module {value.__name__}"
    return f"a {type(value).__name__}"


# redis-py keyword -> (what it must name, a test of the imported value).
DOTTED_OPTIONS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "parser_class": ("a parser class", inspect.isclass),
    "redis_connect_func": ("a function", callable),
    "retry": ("a Retry object", lambda value: _is_object(value) and hasattr(value, "call_with_retry")),
    "credential_provider": (
        "a CredentialProvider object",
        lambda value: _is_object(value) and hasattr(value, "get_credentials"),
    ),
}


def import_options(where: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each dotted path of DOTTED_OPTIONS replaced by what it names.

    ``where`` names the dict in messages: ``REDIS_POOL['default']['OPTIONS']``.
    """
    imported = dict(options)
    for keyword, (kind, fits) in DOTTED_OPTIONS.items():
        path = options.get(keyword)
        if not isinstance(path, str):
            continue
        try:
            value = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{where}[{keyword!r}] is {path!r}, which does not import: {exc}. "
                f"Give the dotted path of {kind}, or {kind} itself."
            ) from None
        if not fits(value):
            raise ImproperlyConfigured(
                f"{where}[{keyword!r}] is {path!r}, which names {_describe(value)}, not {kind}."
            )
        imported[keyword] = value
    return imported
