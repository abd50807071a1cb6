"""Cache keys as django-redis makes them: the backend's prefix, version and key function."""

from __future__ import annotations

import re
from typing import Any

_GLOB = re.compile(r"([*?[])")


class CacheKey(str):
    """A key already made (prefix and version applied): making it again returns it unchanged."""

    def original_key(self) -> str:
        return self.rsplit(":", 1)[1]


def make_key(backend: Any, key: Any, version: int | None = None, prefix: str | None = None) -> CacheKey:
    if isinstance(key, CacheKey):
        return key
    prefix = backend.key_prefix if prefix is None else prefix
    version = backend.version if version is None else version
    return CacheKey(backend.key_func(key, prefix, version))


def make_pattern(
    backend: Any, pattern: Any, version: int | None = None, prefix: str | None = None
) -> CacheKey:
    """A SCAN/KEYS pattern: the prefix and version glob-escaped, the user's pattern as given."""
    if isinstance(pattern, CacheKey):
        return pattern
    prefix = _GLOB.sub(r"[\1]", backend.key_prefix if prefix is None else prefix)
    version_text = _GLOB.sub(r"[\1]", str(backend.version if version is None else version))
    return CacheKey(backend.key_func(pattern, prefix, version_text))
