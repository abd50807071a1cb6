"""What the pool knows of each connection it holds, kept beside the connection, never on it."""

from __future__ import annotations

import sys
import threading
import traceback
from typing import NamedTuple

_INF = float("inf")


class ConnectionState:
    """One connection's clock and checkout record (times are the policy's ``now``, in seconds)."""

    __slots__ = ("checked_out_at", "created_at", "expires_at", "leak_warned", "origin", "released_at")

    def __init__(self, created_at: float) -> None:
        self.created_at = created_at
        # MAX_LIFETIME: set on every (re)connect; never while the pool does not recycle.
        self.expires_at = _INF
        # MAX_IDLE: when it last went back on the idle stack.
        self.released_at = _INF
        # LEAK_WARNING: when and by whom it was checked out (None while idle).
        self.checked_out_at: float | None = None
        self.origin: Origin | None = None
        self.leak_warned = False


class Origin(NamedTuple):
    """Who checked a connection out: the caller's stack (a ``traceback.StackSummary``) and a name
    ("thread 'worker-1'", "task 'Task-7'")."""

    stack: traceback.StackSummary
    owner: str


_STACK_LIMIT = 40


def caller_origin(depth: int, owner: str) -> Origin:
    """The stack of the code ``depth`` frames above the caller of this function, for LEAK_WARNING."""
    stack = traceback.StackSummary.extract(
        traceback.walk_stack(sys._getframe(depth + 1)), limit=_STACK_LIMIT, lookup_lines=False
    )
    stack.reverse()
    return Origin(stack, owner)


class Leak(NamedTuple):
    """A checkout held longer than LEAK_WARNING, reported once (at a scan or at its release)."""

    held: float
    limit: float
    origin: Origin | None
    released: bool


class ThreadWaiter:
    """One thread waiting for a connection: blocks on ``lock`` until a release wakes it."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
