"""An alias's ``CIRCUIT_BREAKER``: on by default; False turns it off; a dict tunes it."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .paths import setting_path

KEY = "CIRCUIT_BREAKER"
# Opens after this many connection failures in a row; probes first after FIRST, then at doubling
# intervals up to MAX (seconds).
DEFAULTS = {"FAILURES": 5, "PROBE_AFTER": 1.0, "MAX_PROBE_AFTER": 10.0}
MAX_FAILURES = 1_000_000
MAX_SECONDS = 3600.0


def parse_breaker(alias: str, config: Mapping[str, Any]) -> tuple[int, float, float] | None:
    """(failures, first probe delay, longest probe delay), or None when the breaker is off."""
    value = config.get(KEY, True)
    if value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"{setting_path(alias, KEY)} must be True (the default), False (off) or a dict such as "
            f"{DEFAULTS!r}, got {value!r}."
        )
    for key in value:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key).upper(), list(DEFAULTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ImproperlyConfigured(
                f"{setting_path(alias, KEY)} has an unknown key {key!r}.{hint} "
                f"Known keys: {', '.join(DEFAULTS)}."
            )
    merged = {**DEFAULTS, **value}
    failures = merged["FAILURES"]
    if isinstance(failures, bool) or not isinstance(failures, int) or not 1 <= failures <= MAX_FAILURES:
        raise ImproperlyConfigured(
            f"{setting_path(alias, KEY)}['FAILURES'] must be an int from 1 to {MAX_FAILURES}, got "
            f"{failures!r}."
        )
    delays = []
    for key in ("PROBE_AFTER", "MAX_PROBE_AFTER"):
        seconds = merged[key]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or not 0 < seconds <= MAX_SECONDS
        ):
            raise ImproperlyConfigured(
                f"{setting_path(alias, KEY)}[{key!r}] must be a positive number of seconds, at most "
                f"{MAX_SECONDS:g}, got {seconds!r}."
            )
        delays.append(float(seconds))
    if delays[1] < delays[0]:
        raise ImproperlyConfigured(
            f"{setting_path(alias, KEY)}['MAX_PROBE_AFTER'] ({delays[1]:g}) must not be shorter than "
            f"'PROBE_AFTER' ({delays[0]:g})."
        )
    return failures, delays[0], delays[1]
