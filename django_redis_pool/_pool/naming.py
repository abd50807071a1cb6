"""The name each pooled connection gives itself on the server (``CLIENT SETNAME``).

``<prefix>:<alias>:<host>:<pid>`` lets ``redis_pool_status`` group ``CLIENT LIST`` by process.
"""

from __future__ import annotations

import re
import socket
from typing import Any, NamedTuple
from urllib.parse import quote

# Anything else, '%' included, is percent-encoded: the encoding is injective, so two aliases never
# share a name ('a b' -> 'a%20b', 'a_b' -> 'a_b'), and the result is what Redis accepts ('!'..'~').
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


class ClientName(NamedTuple):
    prefix: str
    alias: str
    host: str
    pid: int


def _safe(part: str) -> str:
    return _UNSAFE.sub(lambda match: quote(match.group(), safe=""), part)


def local_host() -> str:
    return _safe(socket.gethostname())


def format_client_name(prefix: str, alias: str, pid: int) -> str:
    return f"{prefix}:{_safe(alias)}:{local_host()}:{pid}"


def parse_client_name(name: str) -> ClientName | None:
    """The parts of a name made by :func:`format_client_name`, or None for any other name."""
    parts = name.split(":")
    if len(parts) != 4 or not parts[3].isdigit():
        return None
    return ClientName(parts[0], parts[1], parts[2], int(parts[3]))


def alias_matches(alias: str, name: ClientName, prefix: str) -> bool:
    return name.prefix == prefix and name.alias == _safe(alias)


def pool_repr(pool: Any, max_connections: int, blocking: bool, timeout: float | None) -> str:
    """A pool's repr: its class, alias, redacted URL and limits (never a password)."""
    limits = f"max_connections={max_connections}" + (f", pool_timeout={timeout}" if blocking else "")
    return f"<{type(pool).__name__} alias={pool.alias!r} url={pool.safe_url!r} {limits}>"
