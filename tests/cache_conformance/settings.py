"""Settings for Django's own cache tests run on PooledRedisCache (``make cache-conformance``).

Modelled on Django's tests/runtests.py and test_sqlite.py, trimmed to what tests/cache needs; the
harness puts the sdist's ``tests/`` folder on the path (so its ``cache`` app imports) and the URL of
the redis-server it started in DRP_CACHE_GATE_URL.
"""

from __future__ import annotations

import os

SECRET_KEY = "django_tests_secret_key"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_redis_pool",
    "cache",  # Django's tests/cache: its Poll model
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
LANGUAGE_CODE = "en"
ROOT_URLCONF = "tests.cache_conformance.urls"
MIGRATION_MODULES = {"auth": None, "contenttypes": None, "sessions": None}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
REDIS_POOL = {
    "default": {
        "URL": os.environ.get("DRP_CACHE_GATE_URL", "redis://127.0.0.1:6379/0"),
        "MAX_CONNECTIONS": 20,
        "POOL_TIMEOUT": 5,
        "SOCKET_TIMEOUT": 5,
        "SOCKET_CONNECT_TIMEOUT": 5,
    },
}
POOLED = {"BACKEND": "django_redis_pool.cache.PooledRedisCache", "LOCATION": "default"}
CACHES = {"default": POOLED}
