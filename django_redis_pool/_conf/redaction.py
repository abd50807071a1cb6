"""Keep passwords out of every repr, log line, message and command output.

Redaction never relies on ``urlsplit`` finding the password: a raw ``#``, ``?`` or ``/`` in a password
makes ``urlsplit`` see a fragment, query or path and report no password at all. The userinfo is taken to
be everything between ``://`` (or the start, when there is none) and the last ``@``, which holds for any
password, percent-encoded or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote, unquote_plus

MASK = "***"
SECRET_OPTIONS = frozenset({"password", "ssl_password", "credential_provider", "sentinel_kwargs"})


class SplitURL(NamedTuple):
    head: str  # "scheme://", or "" when the URL has no "://"
    userinfo: str | None  # None when the URL has none
    rest: str  # host, port, path, query, fragment


def split_userinfo(url: str) -> SplitURL:
    """Cut ``url`` at its last ``@``, the one that must end the userinfo whatever the password holds."""
    scheme, sep, rest = url.partition("://")
    head = scheme + sep if sep else ""
    rest = rest if sep else url
    # Even an '@' in what looks like a path (unix:///a@b) counts: 'redis:///:pw@host' must not leak.
    userinfo, at, hostpart = rest.rpartition("@")
    return SplitURL(head, userinfo, hostpart) if at else SplitURL(head, None, rest)


def is_odd(parts: SplitURL) -> bool:
    """A URL whose userinfo ``urlsplit`` (and so redis-py) would read differently than we do."""
    return parts.userinfo is not None and (not parts.head or any(c in parts.userinfo for c in "/?#"))


def _redact_query(text: str) -> str:
    base, question, query = text.partition("?")
    if not question:
        return text
    pieces = []
    for piece in query.split("&"):
        key, equals, _ = piece.partition("=")
        pieces.append(f"{key}={MASK}" if equals and unquote_plus(key) in SECRET_OPTIONS else piece)
    return f"{base}?{'&'.join(pieces)}"


def redact_url(url: str) -> str:
    """``url`` with the password of its userinfo and any secret query argument replaced by ``***``.

    The user name is kept when the userinfo is well formed (``user:password``); the whole userinfo is
    masked when the URL is odd (no ``://``, or a raw ``/``, ``?`` or ``#`` before the last ``@``).
    """
    parts = split_userinfo(url)
    if parts.userinfo is None:
        userinfo = ""
    elif is_odd(parts):
        userinfo = f"{MASK}@"
    elif ":" in parts.userinfo:
        userinfo = f"{parts.userinfo.split(':', 1)[0]}:{MASK}@"
    else:
        userinfo = f"{parts.userinfo}@"  # a user name alone, as redis-py reads it
    return parts.head + userinfo + _redact_query(parts.rest)


def url_secrets(url: str) -> list[str]:
    """Every string of ``url`` that may be a secret, raw and percent-decoded, to scrub from text."""
    parts = split_userinfo(url)
    found: list[str] = []
    if parts.userinfo is not None:
        password = parts.userinfo if is_odd(parts) else parts.userinfo.partition(":")[2]
        found += [password, unquote(password)]
    query = parts.rest.partition("?")[2]
    for piece in query.split("&"):
        key, equals, value = piece.partition("=")
        if equals and unquote_plus(key) in SECRET_OPTIONS:
            found += [value, unquote_plus(value), value.partition("#")[0]]
    # Longest first, so that a secret containing another is replaced whole.
    return sorted({s for s in found if s}, key=len, reverse=True)


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of redis-py keyword arguments with the secret ones masked."""
    return {key: MASK if key in SECRET_OPTIONS else value for key, value in options.items()}


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text
