"""Settings of the fleet test site, from the environment the test gives gunicorn and the command."""

import os

DEBUG = False
SECRET_KEY = "gunicorn-site-tests-only"
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django_redis_pool"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.support.gunicorn_site.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
LOGGING_CONFIG = None

REDIS_POOL = {
    "default": {
        "URL": os.environ["GUNICORN_SITE_REDIS_URL"],
        "MAX_CONNECTIONS": int(os.environ.get("GUNICORN_SITE_MAX_CONNECTIONS", "2")),
        "POOL_TIMEOUT": float(os.environ.get("GUNICORN_SITE_POOL_TIMEOUT", "0.5")),
        "SOCKET_TIMEOUT": 2.0,
        "SOCKET_CONNECT_TIMEOUT": 2.0,
    }
}
REDIS_POOL_FLEET = {
    "ALIAS": "default",
    "INTERVAL": float(os.environ.get("GUNICORN_SITE_INTERVAL", "0.3")),
    "NAMESPACE": os.environ.get("GUNICORN_SITE_NAMESPACE", "django_redis_pool"),
}
