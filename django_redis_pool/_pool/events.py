"""What the pools tell the layers above them, without knowing them: a socket was established.

The fleet publisher starts on the first connection a process opens (not at import, not in
``ready()``: ``manage.py check`` opens none, so it publishes nothing). Listeners run on the thread
(or event loop) that connected, once per socket, never on a checkout: a process with none
registered pays one truthiness test per new socket. A listener that raises is logged, never
raised into the command that connected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("django_redis_pool")

Listener = Callable[[str], None]

connected_listeners: list[Listener] = []


def listen_connected(listener: Listener) -> None:
    """Call ``listener(alias)`` whenever a pool of this process establishes a socket."""
    if listener not in connected_listeners:
        connected_listeners.append(listener)


def unlisten_connected(listener: Listener) -> None:
    if listener in connected_listeners:
        connected_listeners.remove(listener)


def connected(alias: str) -> None:
    for listener in connected_listeners:
        try:
            listener(alias)
        except Exception:
            logger.exception("django_redis_pool: a listener of new connections failed")
