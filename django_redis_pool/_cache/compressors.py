"""Compressors writing the bytes django-redis 7's compressors write, with the same libraries.

As in django-redis, a value is compressed only when its serialized form is longer than
``min_length`` (so small values are stored as they are), and reading tries to decompress first:
``errors`` are the exceptions that mean "not compressed", after which the bytes are read as they
are. These are the exceptions django-redis turns into its ``CompressorError`` for each library.
"""

from __future__ import annotations

import gzip
import lzma
import zlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .serializers import import_optional


class Compressor:
    """Base of this app's compressors: ``compress(data)`` and ``decompress(data)``, bytes to bytes."""

    name = ""
    min_length: ClassVar[int] = 15
    errors: tuple[type[Exception], ...] = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        pass

    def compress(self, data: bytes) -> bytes:
        raise NotImplementedError

    def decompress(self, data: bytes) -> bytes:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class IdentityCompressor(Compressor):
    """No compression (django-redis's default); the codec skips it altogether."""

    name = "identity"

    def compress(self, data: bytes) -> bytes:
        return data

    def decompress(self, data: bytes) -> bytes:
        return data


class ZlibCompressor(Compressor):
    name = "zlib"
    level: ClassVar[int] = 6
    errors = (zlib.error,)

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, self.level) if len(data) > self.min_length else data

    def decompress(self, data: bytes) -> bytes:
        return zlib.decompress(data)


class GzipCompressor(Compressor):
    # gzip.compress's own level (9) and header (mtime is the time of writing), as django-redis.
    name = "gzip"
    # Only a wrong magic number: a gzip header cut short raises EOFError in django-redis too.
    errors = (gzip.BadGzipFile,)

    def compress(self, data: bytes) -> bytes:
        return gzip.compress(data) if len(data) > self.min_length else data

    def decompress(self, data: bytes) -> bytes:
        return gzip.decompress(data)


class LzmaCompressor(Compressor):
    name = "lzma"
    min_length = 100
    level: ClassVar[int] = 4  # lzma's preset
    errors = (lzma.LZMAError,)

    def compress(self, data: bytes) -> bytes:
        return lzma.compress(data, preset=self.level) if len(data) > self.min_length else data

    def decompress(self, data: bytes) -> bytes:
        return lzma.decompress(data)


class Lz4Compressor(Compressor):
    """LZ4 frames (``lz4.frame``) with the library's defaults."""

    name = "lz4"
    # lz4 raises RuntimeError and others; django-redis takes any exception to mean "not compressed".
    errors = (Exception,)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        frame = import_optional("lz4.frame", "lz4", "lz4")
        self._compress: Callable[[bytes], bytes] = frame.compress
        self._decompress: Callable[[bytes], bytes] = frame.decompress

    def compress(self, data: bytes) -> bytes:
        return self._compress(data) if len(data) > self.min_length else data

    def decompress(self, data: bytes) -> bytes:
        return self._decompress(data)


class ZStdCompressor(Compressor):
    """Zstandard through ``pyzstd`` at its default level."""

    name = "zstd"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        pyzstd = import_optional("pyzstd", "pyzstd", "zstd")
        self._compress: Callable[[bytes], bytes] = pyzstd.compress
        self._decompress: Callable[[bytes], bytes] = pyzstd.decompress
        self.errors = (pyzstd.ZstdError,)

    def compress(self, data: bytes) -> bytes:
        return self._compress(data) if len(data) > self.min_length else data

    def decompress(self, data: bytes) -> bytes:
        return self._decompress(data)


# Short names, and django-redis's dotted paths (django-redis need not be installed).
BY_NAME: dict[str, type[Compressor]] = {
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
