from __future__ import annotations

import os

SECRET_KEY = "fleet-site-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_redis_pool",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.support.fleet_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["FLEET_SITE_DB"]}}
# No DEFAULT_AUTO_FIELD: the app's model must not need one (models.W042).
USE_TZ = True
STATIC_URL = "static/"
REDIS_POOL = {
    "default": {
        "URL": os.environ["REDIS_URL"],
        "MAX_CONNECTIONS": int(os.environ.get("MAX_CONNECTIONS", "10")),
        "POOL_TIMEOUT": float(os.environ.get("POOL_TIMEOUT", "5")),
        "SOCKET_TIMEOUT": 5,
        "SOCKET_CONNECT_TIMEOUT": 5,
    }
}
if "FLEET_INTERVAL" in os.environ:
    REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": float(os.environ["FLEET_INTERVAL"])}
