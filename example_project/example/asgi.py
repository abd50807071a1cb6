"""ASGI entry point: ``uvicorn --app-dir example_project example.asgi:application``.

``with_pool_lifespan`` makes the server's lifespan shutdown close the event loop's Redis pools
(uvicorn >= 0.29 ends the process before the loop's own shutdown would; see django_redis_pool.asgi).
"""

import os

from django.core.asgi import get_asgi_application

from django_redis_pool.asgi import with_pool_lifespan

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

django_application = get_asgi_application()
application = with_pool_lifespan(django_application)
