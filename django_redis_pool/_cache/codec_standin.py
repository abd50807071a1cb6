"""A stand-in for the ``codec`` branch's ``build_codec`` (pickle and Django's serializer, zlib only).

Replaced by ``_cache/codec.py`` when that branch is merged; same interface.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Mapping
from enum import Enum
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PICKLE = "django_redis.serializers.pickle.PickleSerializer"
ZLIB = "django_redis.compressors.zlib.ZlibCompressor"
IDENTITY = "django_redis.compressors.identity.IdentityCompressor"


class Codec:
    """Values to the bytes django-redis's DefaultClient stores, and back; ints are stored as ints."""

    def __init__(self, serializer: Any, compress: bool) -> None:
        self.serializer = serializer
        self.compress = compress

    def encode(self, value: Any) -> bytes | int:
        if isinstance(value, int) and not isinstance(value, bool | Enum):
            return value
        return self.encode_serialized(value)

    def encode_serialized(self, value: Any) -> bytes:
        raw: bytes = self.serializer.dumps(value)
        return zlib.compress(raw) if self.compress and len(raw) > 15 else raw

    def decode(self, raw: bytes) -> Any:
        try:
            return int(raw)
        except (ValueError, TypeError):
            pass
        if self.compress:
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                pass
        return self.serializer.loads(raw)


class _Pickle:
    def __init__(self, version: int) -> None:
        self.version = version

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, self.version)

    def loads(self, raw: bytes) -> Any:
        return pickle.loads(raw)


def build_codec(options: Mapping[str, Any], where: str) -> Codec:
    if options.get("serializer") is not None:
        cls = options["serializer"]
        return Codec(import_string(cls)() if isinstance(cls, str) else cls(), compress=False)
    if options.get("SERIALIZER", PICKLE) != PICKLE or options.get("COMPRESSOR", IDENTITY) not in (
        ZLIB,
        IDENTITY,
    ):
        raise ImproperlyConfigured(f"{where}: the stand-in codec takes pickle and zlib only.")
    return Codec(_Pickle(int(options.get("PICKLE_VERSION", -1))), options.get("COMPRESSOR") == ZLIB)


def codec_problems(options: Mapping[str, Any], where: str) -> list[str]:
    try:
        build_codec(options, where)
    except ImproperlyConfigured as exc:
        return [str(exc)]
    return []
