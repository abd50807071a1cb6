"""ASGI entry point: ``uvicorn --app-dir example_project example.asgi:application``.

Django answers HTTP only; this wrapper also answers the ASGI lifespan protocol, so that the server's
shutdown closes the event loop's Redis pools with ``aclose_pools()``. Without it they are not closed
at all under uvicorn >= 0.29: after a graceful shutdown on SIGTERM, uvicorn re-raises the signal from
inside its event loop, and the process ends before the loop's ``shutdown_asyncgens()`` runs.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

django_application = get_asgi_application()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        await django_application(scope, receive, send)
        return
    from django_redis_pool import aclose_pools

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await aclose_pools()  # the pools of this loop, the one that served the requests
            await send({"type": "lifespan.shutdown.complete"})
            return
