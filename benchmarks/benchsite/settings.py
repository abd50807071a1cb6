"""Django settings for the benchmarks: every contender points at the same local server."""

import json
import os

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MAX_CONNECTIONS = int(os.environ.get("BENCH_MAX_CONNECTIONS", "50"))
# The CACHES alias the /cache/ view uses, chosen per gunicorn run (bench_cache.py --gunicorn).
CACHE_VIEW_ALIAS = os.environ.get("BENCH_CACHE", "pooled")

DEBUG = False
SECRET_KEY = "benchmarks-only"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django_redis_pool"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "benchsite.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
LOGGING_CONFIG = None

REDIS_POOL = {
    "default": {
        "URL": URL,
        "MAX_CONNECTIONS": MAX_CONNECTIONS,
        "POOL_TIMEOUT": 20,
        "SOCKET_TIMEOUT": 5,
        "SOCKET_CONNECT_TIMEOUT": 5,
    }
}
# bench_fleet.py: this many aliases in all, the others copies of "default"; and publishing pool
# snapshots every BENCH_FLEET_INTERVAL seconds (unset: not at all).
for _index in range(1, int(os.environ.get("BENCH_ALIASES", "1"))):
    REDIS_POOL[f"alias{_index}"] = dict(REDIS_POOL["default"])
if os.environ.get("BENCH_FLEET_INTERVAL"):
    REDIS_POOL_FLEET = {"ALIAS": "default", "INTERVAL": float(os.environ["BENCH_FLEET_INTERVAL"])}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "django_redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": URL,
        "OPTIONS": {"CONNECTION_POOL_KWARGS": {"max_connections": MAX_CONNECTIONS}},
    },
    # django-redis as its README configures it: no pool options, so its unbounded ConnectionPool.
    "django_redis_defaults": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": URL},
    "builtin": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": URL},
    "pooled": {"BACKEND": "django_redis_pool.cache.PooledRedisCache", "LOCATION": "default"},
}
# bench_django_redis.py: django-redis CACHES entries (by name, without BACKEND), each given to
# django-redis ("django_redis_<name>") and to PooledRedisCache ("pooled_<name>"). Only when it asks:
# until the backend takes django-redis's settings, such an entry is refused at start-up.
for _name, _config in json.loads(os.environ.get("BENCH_DJANGO_REDIS_CONFIGS", "{}")).items():
    CACHES[f"django_redis_{_name}"] = {"BACKEND": "django_redis.cache.RedisCache", **_config}
    CACHES[f"pooled_{_name}"] = {"BACKEND": "django_redis_pool.cache.PooledRedisCache", **_config}
