"""Serializers writing the bytes django-redis 7's serializers write: pickle, JSON and msgpack.

Each takes django-redis's constructor (``cls(options=OPTIONS)``) and Django's (``cls()``), so a class
can be named wherever either project names a serializer. Raw integers never reach them: the codec
stores those as Redis integers (see ``codec.py``).
"""

from __future__ import annotations

import importlib
import json
import pickle
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder


class MissingDependency(ImportError):
    """An optional library a serializer or compressor needs is not installed."""

    def __init__(self, library: str, extra: str) -> None:
        super().__init__(f"needs the {library!r} library: pip install django-redis-pool[{extra}]")
        self.library, self.extra = library, extra


def import_optional(module: str, library: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(library, extra) from exc


def pickle_protocol(value: Any, where: str) -> int:
    """django-redis's PICKLE_VERSION: anything ``int()`` takes, at most pickle.HIGHEST_PROTOCOL."""
    try:
        protocol = int(value)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{where}['PICKLE_VERSION'] must be an integer, got {value!r}: set a pickle protocol such as "
            f"{pickle.DEFAULT_PROTOCOL}, or -1 for the highest ({pickle.HIGHEST_PROTOCOL})."
        ) from exc
    if protocol > pickle.HIGHEST_PROTOCOL:
        raise ImproperlyConfigured(
            f"{where}['PICKLE_VERSION'] is {protocol}, higher than pickle.HIGHEST_PROTOCOL "
            f"({pickle.HIGHEST_PROTOCOL}) on this Python: lower it, or use -1 for the highest."
        )
    return protocol


class Serializer:
    """Base of this app's serializers: ``dumps(value) -> bytes`` and ``loads(data) -> value``."""

    name = ""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        pass

    def dumps(self, value: Any) -> bytes:
        raise NotImplementedError

    def loads(self, data: bytes) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PickleSerializer(Serializer):
    """pickle at ``pickle.DEFAULT_PROTOCOL``, or OPTIONS['PICKLE_VERSION'] (django-redis's default)."""

    name = "pickle"

    def __init__(self, options: Mapping[str, Any] | None = None, *, where: str = "OPTIONS") -> None:
        self.protocol = pickle.DEFAULT_PROTOCOL
        if options and "PICKLE_VERSION" in options:
            self.protocol = pickle_protocol(options["PICKLE_VERSION"], where)

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, self.protocol)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)

    def __repr__(self) -> str:
        return f"PickleSerializer(protocol={self.protocol})"


class JSONSerializer(Serializer):
    """JSON through Django's ``DjangoJSONEncoder`` (dates, decimals, UUIDs as strings), ASCII-only."""

    name = "json"
    encoder_class: type[json.JSONEncoder] = DjangoJSONEncoder

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, cls=self.encoder_class).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data.decode())


class MSGPackSerializer(Serializer):
    """msgpack with its defaults (bytes stay bytes, str stays str; tuples come back as lists)."""

    name = "msgpack"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        msgpack = import_optional("msgpack", "msgpack", "msgpack")
        self._packb: Callable[[Any], bytes] = msgpack.packb
        self._unpackb: Callable[..., Any] = msgpack.unpackb

    def dumps(self, value: Any) -> bytes:
        return self._packb(value)

    def loads(self, data: bytes) -> Any:
        # strict_map_key stays msgpack's default (True), as in django-redis: a dict with int keys
        # is written but cannot be read back.
        return self._unpackb(data, raw=False)


# Short names, and django-redis's dotted paths (django-redis need not be installed).
BY_NAME: dict[str, type[Serializer]] = {
    "pickle": PickleSerializer,
    "json": JSONSerializer,
    "msgpack": MSGPackSerializer,
    "django_redis.serializers.pickle.PickleSerializer": PickleSerializer,
    "django_redis.serializers.json.JSONSerializer": JSONSerializer,
    "django_redis.serializers.msgpack.MSGPackSerializer": MSGPackSerializer,
}
