"""Waiting for something another thread or process does: a deadline, never a timing assertion."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(condition: Callable[[], Any], within: float = 10.0, every: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something true, or ``within`` seconds passed; its last value."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
