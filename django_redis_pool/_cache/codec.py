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
import pickle
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .compressors import (
    Compressor,
    GzipCompressor,
    IdentityCompressor,
    Lz4Compressor,
    LzmaCompressor,
    ZlibCompressor,
    ZStdCompressor,
)
from .serializers import JSONSerializer, MissingDependency, MSGPackSerializer, PickleSerializer, Serializer

# django-redis's classes by dotted path (django-redis need not be installed), and short names.
SERIALIZERS: dict[str, type[Serializer]] = {
    "pickle": PickleSerializer,
    "json": JSONSerializer,
    "msgpack": MSGPackSerializer,
    "django_redis.serializers.pickle.PickleSerializer": PickleSerializer,
    "django_redis.serializers.json.JSONSerializer": JSONSerializer,
    "django_redis.serializers.msgpack.MSGPackSerializer": MSGPackSerializer,
}
COMPRESSORS: dict[str, type[Compressor]] = {
    "identity": IdentityCompressor,
    "zlib": ZlibCompressor,
    "gzip": GzipCompressor,
    "lzma": LzmaCompressor,
    "lz4": Lz4Compressor,
    "zstd": ZStdCompressor,
    "django_redis.compressors.identity.IdentityCompressor": IdentityCompressor,
    "django_redis.compressors.zlib.ZlibCompressor": ZlibCompressor,
    "django_redis.compressors.gzip.GzipCompressor": GzipCompressor,
    "django_redis.compressors.lzma.LzmaCompressor": LzmaCompressor,
    "django_redis.compressors.lz4.Lz4Compressor": Lz4Compressor,
    "django_redis.compressors.zstd.ZStdCompressor": ZStdCompressor,
}
# Integers that django-redis serializes instead of storing as Redis integers.
SERIALIZED_INTS = (bool, Enum)


class Encoder(Protocol):
    def __call__(self, value: Any, allow_int: bool = True) -> bytes | int: ...


class Codec:
    """``encode(value)`` to what is sent to Redis (bytes, or an int), ``decode(raw)`` back.

    ``encode(value, allow_int=False)`` never returns an int (django-redis's sorted-set members).
    ``raw_ints=False`` is for a serializer written for Django's ``RedisCache``, which handles ints
    itself: every value goes through its ``dumps`` and ``loads``, and there is no compressor.
    """

    __slots__ = ("compressor", "decode", "encode", "serializer")
    serializer: Any
    compressor: Any
    encode: Encoder
    decode: Callable[[bytes], Any]

    def __init__(self, serializer: Any, compressor: Any = None, *, raw_ints: bool = True) -> None:
        self.serializer, self.compressor = serializer, compressor
        if not raw_ints:
            if compressor is not None:
                raise ValueError("a serializer that handles ints itself takes no compressor")
            self.encode, self.decode = _whole_value_encoder(serializer.dumps), serializer.loads
            return
        compress = decompress = None
        if compressor is not None and type(compressor) is not IdentityCompressor:
            compress, decompress = compressor.compress, compressor.decompress
        if type(serializer) is PickleSerializer:
            self.encode = _pickle_encoder(serializer.protocol, compress)
            loads: Callable[[bytes], Any] = pickle.loads
        else:
            self.encode = _encoder(serializer.dumps, compress)
            loads = serializer.loads
        self.decode = _decoder(loads, decompress, _not_compressed_errors(compressor))

    def __repr__(self) -> str:
        return f"Codec({self.serializer!r}, {self.compressor!r})"


def _pickle_encoder(protocol: int, compress: Callable[[bytes], bytes] | None) -> Encoder:
    dumps = pickle.dumps  # called positionally: pickle.dumps(value, protocol=...) is much slower

    def encode(value: Any, allow_int: bool = True) -> bytes | int:
        if (
            isinstance(value, int)
            and allow_int
            and (type(value) is int or not isinstance(value, SERIALIZED_INTS))
        ):
            return value
        data = dumps(value, protocol)
        return data if compress is None else compress(data)

    return encode


def _encoder(dumps: Callable[[Any], bytes], compress: Callable[[bytes], bytes] | None) -> Encoder:
    def encode(value: Any, allow_int: bool = True) -> bytes | int:
        if (
            isinstance(value, int)
            and allow_int
            and (type(value) is int or not isinstance(value, SERIALIZED_INTS))
        ):
            return value
        data = dumps(value)
        return data if compress is None else compress(data)

    return encode


def _whole_value_encoder(dumps: Callable[[Any], Any]) -> Encoder:
    def encode(value: Any, allow_int: bool = True) -> bytes | int:
        result: bytes | int = dumps(value)
        return result

    return encode


def _decoder(
    loads: Callable[[bytes], Any],
    decompress: Callable[[bytes], bytes] | None,
    errors: tuple[type[BaseException], ...],
) -> Callable[[bytes], Any]:
    def decode(raw: bytes) -> Any:
        # int() only takes bytes that start with ASCII whitespace, a sign or a digit, all <= b"9":
        # skipping it for the rest (every pickle) saves raising and catching a ValueError.
        if raw[:1] <= b"9":
            try:
                return int(raw)
            except ValueError:
                pass
        if decompress is not None:
            try:  # noqa: SIM105 (contextlib.suppress costs a context manager per value)
                raw = decompress(raw)
            except errors:
                pass  # not compressed: it was not longer than min_length when written
        return loads(raw)

    return decode


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
        return Codec(_serializer(options, where, "SERIALIZER"), _compressor(options, where))
    if "SERIALIZER" in options:
        raise ImproperlyConfigured(
            f"{where} has both 'SERIALIZER' (django-redis's key) and 'serializer' (Django's): keep one."
        )
    value = options["serializer"]
    cls = _class(value, where, "serializer", SERIALIZERS, "serializer")
    if _is_django_redis_kind(cls):
        return Codec(_serializer(options, where, "serializer"), _compressor(options, where))
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
    return Codec(serializer, raw_ints=False)


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
