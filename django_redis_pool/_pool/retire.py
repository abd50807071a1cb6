"""Retiring a pool that a rebuild of the registry replaced, without closing sockets under its callers.

A caller may hold the old pool's client (or one of its connections) when ``REDIS_POOL`` changes:
the old pool keeps serving it, but its idle connections leave the pool and close at once, and each
in-use connection closes when it is released (the drivers release a connection the pool does not
own by closing it and freeing its slot). The old pool never grows past its own MAX_CONNECTIONS, so
the server sees at most the old and the new limits together, and the old connections drain away.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from . import compat
from .policy import PoolPolicy


def take_idle_out(policy: PoolPolicy[Any, Any]) -> list[Any]:
    """Every idle connection, out of the policy with its slot (driver's lock held, or no await)."""
    idle, policy.idle[:] = list(policy.idle), []
    policy.slots -= len(idle)
    for connection in idle:
        policy.states.pop(connection, None)
    return idle


class Retiring:
    """A sync pool's side of it (a base of :class:`.thread_driver.Pool`)."""

    retired = False
    pid: int
    _policy: PoolPolicy[Any, Any]
    _lock: Any

    def owns_connection(self, connection: Any) -> int:  # redis-py's, asked at every release
        return not self.retired and connection.pid == self.pid

    def retire(self) -> None:
        """Replaced by a rebuild: idle connections close now, in-use ones when released."""
        if self.pid != os.getpid():  # a forked child's first use: the parent's lock may be held
            pool: Any = self  # a redis.ConnectionPool, later in the pool's bases
            compat.checkpid(pool)
        with self._lock:
            self.retired = True
            idle = take_idle_out(self._policy)
        for connection in idle:
            connection.disconnect()


class AsyncRetiring:
    """An asyncio pool's side of it (a base of :class:`.async_driver.AsyncPool`)."""

    retired = False
    _policy: PoolPolicy[Any, Any]

    async def retire(self) -> None:
        self.retired = True
        idle = take_idle_out(self._policy)
        await asyncio.gather(*(c.disconnect() for c in idle), return_exceptions=True)
