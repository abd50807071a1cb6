SECRET_KEY = "tests-only"
INSTALLED_APPS = ["django.contrib.contenttypes", "django_redis_pool", "example"]
ROOT_URLCONF = "example.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
REDIS_POOL = {
    "default": {"URL": "fakeredis://", "SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5},
}
# As in the example project: Django's cache and sessions on the "default" alias (whatever its URL).
CACHES = {"default": {"BACKEND": "django_redis_pool.cache.PooledRedisCache", "LOCATION": "default"}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
