"""Keep passwords out of every repr, log line, message and command output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
SECRET_OPTIONS = frozenset({"password", "ssl_password", "credential_provider", "sentinel_kwargs"})


def redact_url(url: str) -> str:
    """Return ``url`` with any password (userinfo or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Not parseable: keep only what cannot hold a secret.
        return url.split("://", 1)[0] + "://" + MASK if "://" in url else MASK
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if password is None and not any(key in SECRET_OPTIONS for key, _ in pairs):
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = parts.query
    if any(key in SECRET_OPTIONS for key, _ in pairs):
        query = urlencode([(k, MASK if k in SECRET_OPTIONS else v) for k, v in pairs], safe="*")
    # Not urlunsplit: it drops the '//' of an empty host (unix:///path).
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of redis-py keyword arguments with the secret ones masked."""
    return {key: MASK if key in SECRET_OPTIONS else value for key, value in options.items()}


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
