"""Values to Redis bytes and back, as django-redis 7's ``DefaultClient`` does, so both read each other's.

The rules (``DefaultClient.encode``/``decode``):

- an ``int`` is stored as a Redis integer (redis-py writes its digits), so ``INCR`` works on it; a
  ``bool`` or an ``Enum`` member (``IntEnum`` too) is serialized, as is every other value;
- serialized bytes are compressed when longer than the compressor's ``min_length``;
- reading tries ``int(raw)`` first, then decompresses (the compressor's "not compressed" errors
  leave the bytes as they are: small values were never compressed), then deserializes.

Django's ``RedisCache`` serializer stores an exact ``int`` as a Redis integer and pickles everything
else at ``pickle.HIGHEST_PROTOCOL`` (an ``int`` subclass too); django-redis pickles at
``pickle.DEFAULT_PROTOCOL``. Each reads the other's bytes; only a non-``Enum`` ``int`` subclass
comes back as a plain ``int`` from django-redis's rules where Django's would have kept its class.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from pickle import dumps as _pickle_dumps
from pickle import loads as _pickle_loads
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import compressors, serializers
from .compressors import IdentityCompressor
from .serializers import MissingDependency, PickleSerializer, Serializer

SERIALIZERS, COMPRESSORS = serializers.BY_NAME, compressors.BY_NAME
# Integers that django-redis serializes instead of storing as Redis integers.
SERIALIZED_INTS = (bool, Enum)


class Codec:
    """``encode(value)`` to what is sent to Redis (bytes, or an int), ``decode(raw)`` back.

    ``serialize(value)`` always gives bytes, an int too (django-redis's ``encode(value,
    allow_int=False)``, for sorted-set members). ``codec_for()`` picks the class for the parts.
    """

    __slots__ = ("_compress", "_decompress", "_dumps", "_errors", "_loads", "compressor", "serializer")

    def __init__(self, serializer: Any, compressor: Any = None) -> None:
        self.serializer, self.compressor = serializer, compressor
        self._dumps: Callable[[Any], bytes] = serializer.dumps
        self._loads: Callable[[bytes], Any] = serializer.loads
        self._compress: Callable[[bytes], bytes] | None = None
        self._decompress: Callable[[bytes], bytes] | None = None
        if compressor is not None and type(compressor) is not IdentityCompressor:
            self._compress, self._decompress = compressor.compress, compressor.decompress
        self._errors = _not_compressed_errors(compressor)

    def encode(self, value: Any) -> bytes | int:
        if isinstance(value, int) and (type(value) is int or not isinstance(value, SERIALIZED_INTS)):
            return value
        data = self._dumps(value)
        return data if self._compress is None else self._compress(data)

    def serialize(self, value: Any) -> bytes:
        data = self._dumps(value)
        return data if self._compress is None else self._compress(data)

    def decode(self, raw: bytes) -> Any:
        # int() only takes bytes starting with ASCII whitespace, a sign or a digit, all below b":":
        # skipping it for the rest (every pickle) saves raising and catching a ValueError.
        if raw < b":":
            try:
                return int(raw)
            except ValueError:
                pass
        if self._decompress is not None:
            try:  # noqa: SIM105 (contextlib.suppress costs a context manager per value)
                raw = self._decompress(raw)
            except self._errors:
                pass  # not compressed: it was not longer than min_length when written
        return self._loads(raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.serializer!r}, {self.compressor!r})"


class PickleCodec(Codec):
    """The default codec, pickle without compression: ``Codec`` with its calls inlined."""

    __slots__ = ("_protocol",)

    def __init__(self, serializer: PickleSerializer, compressor: Any = None) -> None:
        super().__init__(serializer, compressor)
        if self._compress is not None:
            raise ValueError("PickleCodec does not compress: use Codec")
        self._protocol = serializer.protocol

    def encode(self, value: Any) -> bytes | int:
        if isinstance(value, int) and (type(value) is int or not isinstance(value, SERIALIZED_INTS)):
            return value
        return _pickle_dumps(value, self._protocol)  # positional: a keyword protocol costs twice as much

    def serialize(self, value: Any) -> bytes:
        return _pickle_dumps(value, self._protocol)

    def decode(self, raw: bytes) -> Any:
        if raw < b":":
            try:
                return int(raw)
            except ValueError:
                pass
        return _pickle_loads(raw)


class DjangoSerializerCodec(Codec):
    """A serializer written for Django's ``RedisCache``: it takes every value, ints included."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes | int:
        encoded: bytes | int = self._dumps(value)
        return encoded

    def decode(self, raw: bytes) -> Any:
        return self._loads(raw)


def codec_for(serializer: Any, compressor: Any = None) -> Codec:
    """The fastest codec class for these parts (django-redis's rules)."""
    if type(serializer) is PickleSerializer and (
        compressor is None or type(compressor) is IdentityCompressor
    ):
        return PickleCodec(serializer, compressor)
    return Codec(serializer, compressor)


def _not_compressed_errors(compressor: Any) -> tuple[type[BaseException], ...]:
    errors = getattr(compressor, "errors", None)
    if isinstance(errors, tuple) and all(
        isinstance(e, type) and issubclass(e, BaseException) for e in errors
    ):
        return errors
    # A compressor of django-redis's kind raises django-redis's CompressorError for "not compressed";
    # if one could raise it, its module is loaded.
    django_redis_exceptions = sys.modules.get("django_redis.exceptions")
    error = getattr(django_redis_exceptions, "CompressorError", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()


def build_codec(options: Mapping[str, Any], where: str) -> Codec:
    """The codec a cache's ``OPTIONS`` ask for, or ``ImproperlyConfigured`` naming ``where`` and the key."""
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, got {type(options).__name__}.")
    if "serializer" not in options:
        return codec_for(_serializer(options, where, "SERIALIZER"), _compressor(options, where))
    if "SERIALIZER" in options:
        raise ImproperlyConfigured(
            f"{where} has both 'SERIALIZER' (django-redis's key) and 'serializer' (Django's): keep one."
        )
    value = options["serializer"]
    cls = _class(value, where, "serializer", SERIALIZERS, "serializer")
    if _is_django_redis_kind(cls):
        return codec_for(_serializer(options, where, "serializer"), _compressor(options, where))
    if "COMPRESSOR" in options:
        raise ImproperlyConfigured(
            f"{where} has 'COMPRESSOR' and Django's 'serializer' {value!r}, which stores values its own "
            "way: name the serializer in 'SERIALIZER' (django-redis's key) to compress."
        )
    try:
        serializer = cls()  # as Django's RedisCache builds it
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"{where}['serializer'] is {value!r}, which cannot be built with no arguments as Django builds "
            f"it ({exc}): a django-redis serializer class goes in 'SERIALIZER'."
        ) from exc
    _require_methods(serializer, value, where, "serializer", ("dumps", "loads"))
    return DjangoSerializerCodec(serializer)


def codec_problems(options: Mapping[str, Any], where: str) -> list[str]:
    """Why ``build_codec(options, where)`` would fail: one message per wrong key, none if it works."""
    if not isinstance(options, Mapping) or "serializer" in options:
        steps: list[Callable[[], Any]] = [lambda: build_codec(options, where)]
    else:
        steps = [lambda: _serializer(options, where, "SERIALIZER"), lambda: _compressor(options, where)]
    problems = []
    for step in steps:
        try:
            step()
        except ImproperlyConfigured as exc:
            problems.append(str(exc))
    return problems


def _is_django_redis_kind(cls: type) -> bool:
    """A serializer class built with ``options``: this app's, or django-redis's (then it is loaded)."""
    if issubclass(cls, Serializer):
        return True
    base = getattr(sys.modules.get("django_redis.serializers.base"), "BaseSerializer", None)
    return isinstance(base, type) and issubclass(cls, base)


def _serializer(options: Mapping[str, Any], where: str, key: str) -> Any:
    value = options.get(key, "pickle")
    cls = _class(value, where, key, SERIALIZERS, "serializer")
    if cls is PickleSerializer:
        return PickleSerializer(options, where=where)
    return _instance(cls, value, options, where, key, ("dumps", "loads"))


def _compressor(options: Mapping[str, Any], where: str) -> Any:
    value = options.get("COMPRESSOR", "identity")
    cls = _class(value, where, "COMPRESSOR", COMPRESSORS, "compressor")
    return _instance(cls, value, options, where, "COMPRESSOR", ("compress", "decompress"))


def _class(value: Any, where: str, key: str, known: Mapping[str, type], kind: str) -> type:
    label = f"{where}[{key!r}]"
    names = ", ".join(repr(name) for name in known if "." not in name)
    advice = f"Set it to {names}, a django-redis {kind}'s dotted path, or the dotted path of your own class."
    if isinstance(value, type):
        return value
    if not isinstance(value, str):
        raise ImproperlyConfigured(
            f"{label} must be a name, a dotted path or a class, got {value!r}. {advice}"
        )
    if value in known:
        return known[value]
    if "." not in value:
        close = difflib.get_close_matches(value, [name for name in known if "." not in name], n=1)
        did_you_mean = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(
            f"{label} is {value!r}, which is not a {kind} name.{did_you_mean} {advice}"
        )
    try:
        cls = import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{label} is {value!r}, which does not import: {exc}. {advice}") from exc
    if not isinstance(cls, type):
        raise ImproperlyConfigured(
            f"{label} is {value!r}, which is a {type(cls).__name__}, not a class. {advice}"
        )
    return cls


def _instance(
    cls: type, value: Any, options: Mapping[str, Any], where: str, key: str, methods: tuple[str, str]
) -> Any:
    label = f"{where}[{key!r}]"
    try:
        instance = cls(options=dict(options))  # as django-redis builds them, on a copy
    except MissingDependency as exc:
        raise ImproperlyConfigured(f"{label} is {value!r}, which {exc}.") from exc
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(f"{label} is {value!r}, which refuses {where}: {exc}") from exc
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{label} is {value!r}, and {cls.__name__}(options=OPTIONS) failed ({exc!r}): django-redis "
            "builds a serializer or compressor that way."
        ) from exc
    _require_methods(instance, value, where, key, methods)
    return instance


def _require_methods(instance: Any, value: Any, where: str, key: str, methods: tuple[str, str]) -> None:
    missing = [name for name in methods if not callable(getattr(instance, name, None))]
    if missing:
        raise ImproperlyConfigured(
            f"{where}[{key!r}] is {value!r}, which has no {' or '.join(missing)} method: it must have "
            f"{methods[0]}() and {methods[1]}()."
        )
