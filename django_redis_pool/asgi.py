"""``with_pool_lifespan(application)``: close the event loop's Redis pools at ASGI lifespan shutdown.

Django's ASGI application answers HTTP only. Wrapped, it also answers the lifespan protocol, so the
server's shutdown runs ``aclose_pools()`` on the loop that served the requests. Under uvicorn >= 0.29
this is the only way the pools get closed: after a graceful shutdown on SIGTERM it re-raises the
signal inside its event loop, and the process ends before the loop's ``shutdown_asyncgens()`` runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._registry.loops import aclose_pools

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def with_pool_lifespan(application: ASGIApp) -> ASGIApp:
    """``application`` (e.g. ``get_asgi_application()``), answering lifespan events itself."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await application(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await aclose_pools()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped
