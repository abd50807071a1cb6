"""Settings of the example project. REDIS_URL picks the server; fakeredis:// needs none."""

import os

REDIS_URL = os.environ.get("REDIS_URL", "fakeredis://")
# Django's debug page lists the settings, REDIS_POOL's URL in full (a password in it too):
# on by default only for the in-process demo backend, never for a real server.
DEBUG = os.environ.get("DJANGO_DEBUG", "1" if REDIS_URL.startswith("fakeredis:") else "0") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
INSTALLED_APPS = ["django.contrib.staticfiles", "django_redis_pool", "example"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "example.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
STATIC_URL = "static/"

REDIS_POOL = {
    "default": {
        "URL": REDIS_URL,
        "MAX_CONNECTIONS": int(os.environ.get("REDIS_MAX_CONNECTIONS", "20")),
        "POOL_TIMEOUT": 5.0,
        "SOCKET_TIMEOUT": 5.0,
        "SOCKET_CONNECT_TIMEOUT": 5.0,
        "HEALTH_CHECK_INTERVAL": 30,
    },
}

# Django's cache framework on the "default" alias's pool: no second pool, the alias's stats count it.
CACHES = {
    "default": {
        "BACKEND": "django_redis_pool.cache.PooledRedisCache",
        "LOCATION": "default",  # a REDIS_POOL alias
        "KEY_PREFIX": "example",
    },
}
# Sessions in that cache: no database needed.
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

# Requests allowed per client per window on /limited/.
RATE_LIMIT = int(os.environ.get("RATE_LIMIT", "5"))
RATE_WINDOW_SECONDS = int(os.environ.get("RATE_WINDOW_SECONDS", "10"))
