"""Django's own cache test classes, re-pointed at PooledRedisCache on the gate's redis-server.

Imported by ``runner.py`` after ``django.setup()``, with the sdist's ``tests/`` folder on the path.
``RedisCacheTests`` (with all of ``BaseCacheTests``) is the backend's gate, set up as Django sets up
its own Redis run (the same cache aliases, without the cull ones Django excludes for Redis). The
middleware, ``cache_page`` and ``django.utils.cache`` classes run with their LocMemCache replaced
by this backend: two aliases on one pool alias, kept apart by KEY_PREFIX.
"""

from __future__ import annotations

from typing import Any

from cache import tests as django_tests  # type: ignore[import-not-found]
from django.test import override_settings

POOLED = {"BACKEND": "django_redis_pool.cache.PooledRedisCache", "LOCATION": "default"}


def pooled(**params: Any) -> dict[str, Any]:
    return {**POOLED, **params}


@override_settings(
    CACHES=django_tests.caches_setting_for_tests(base=POOLED, exclude=django_tests.redis_excluded_caches)
)
class PooledRedisCacheTests(django_tests.RedisCacheTests):  # type: ignore[misc]
    __unittest_skip__ = False  # Django skips its class unless its own RedisCache is configured


@override_settings(
    CACHES={"default": pooled(), "other": pooled(KEY_PREFIX="other", TIMEOUT="1")},
)
class PooledCacheMiddlewareTest(django_tests.CacheMiddlewareTest):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled()})
class PooledCacheUtils(django_tests.CacheUtils):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled(KEY_PREFIX="cacheprefix")})
class PooledPrefixedCacheUtils(django_tests.PrefixedCacheUtils):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled()})
class PooledCacheHEADTest(django_tests.CacheHEADTest):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled()})
class PooledCacheI18nTest(django_tests.CacheI18nTest):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled(KEY_PREFIX="cacheprefix")})
class PooledPrefixedCacheI18nTest(django_tests.PrefixedCacheI18nTest):  # type: ignore[misc]
    pass


@override_settings(CACHES={"default": pooled()})
class PooledTestWithTemplateResponse(django_tests.TestWithTemplateResponse):  # type: ignore[misc]
    pass


GATE_CLASSES = [
    PooledRedisCacheTests,
    PooledCacheMiddlewareTest,
    PooledCacheUtils,
    PooledPrefixedCacheUtils,
    PooledCacheHEADTest,
    PooledCacheI18nTest,
    PooledPrefixedCacheI18nTest,
    PooledTestWithTemplateResponse,
]
