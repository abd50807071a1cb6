"""Every Python example of README.md and docs/*.md runs as a test (sybil), on the suite's redis-server.

A pytest plugin, loaded by ``pytest_plugins`` in tests/conftest.py; pyproject's ``testpaths`` hands it
README.md and docs/. The pages pytest collects, one test per block, are the ones a reader copies from.

The Python blocks of one page run in order, in one namespace, as a reader would paste them. A block
that assigns a Django setting (``REDIS_POOL``, ``CACHES``, ``INSTALLED_APPS``...) is a settings example:

- ``REDIS_POOL`` goes through the app's own parser, so a wrong key or value fails here as at startup;
- when every alias points at the examples' server (``redis://127.0.0.1:6379/<db>``) or is
  ``fakeredis://``, the settings are applied with the suite's redis-server in its place, and then
  the app's system checks must be silent, every alias must answer PING through its pool, and every
  ``PooledRedisCache`` must store and read back a value;
- they stay in force for the page's later blocks, which then run on them.

Until a page sets ``REDIS_POOL``, its blocks run on a ``"default"`` (db 0) and a ``"sessions"`` (db 1)
alias of the suite's server. Aliases elsewhere (Sentinel, Cluster, remote hosts, TLS) are parsed and
not applied: the suite connects to nothing but its own loopback servers.

A page checks what an example claims in hidden blocks, ``<!-- invisible-code-block: python ... -->``,
which run like the others without being shown.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.checks import run_checks
from django.test import override_settings
from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.codeblock import CodeBlockParser

from django_redis_pool import get_redis
from tests.conftest import NO_SERVER, WHAT_TO_DO, skip_or_fail
from tests.support.docs import ROOT, is_example_server, to_test_server
from tests.support.internals import parse_redis_pool
from tests.support.redis_server import RedisServer, redis_server_binary

# The Django settings an example may assign; any of them makes the block a settings example.
SETTING_NAMES = (
    "REDIS_POOL",
    "CACHES",
    "INSTALLED_APPS",
    "SESSION_ENGINE",
    "SESSION_CACHE_ALIAS",
    "REDIS_POOL_HEALTH_TIMEOUT",
)
LIMITS = {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 5, "POOL_TIMEOUT": 5}
POOLED_CACHE = "django_redis_pool.cache.PooledRedisCache"
_PAGE = "_docs_page"
_MOVED = "MOVED_TO_TEST_SERVER"
# The marker of a block whose settings feed a generated sample, right before the block.
SAMPLE_CONFIG = re.compile(r"<!-- sample-config: [\w-]+ -->\n\Z")


@pytest.fixture(scope="session")
def docs_redis_server() -> Iterator[RedisServer]:
    """The examples' redis-server (conftest fixtures do not reach files outside tests/)."""
    if redis_server_binary() is None:
        skip_or_fail(f"{NO_SERVER}, so the examples of the docs cannot run: {WHAT_TO_DO}")
    with RedisServer() as server:
        yield server


def runs_here(redis_pool: Any) -> bool:
    """Whether every alias of an example's REDIS_POOL can be pointed at the suite's own server."""
    return all(
        isinstance(config, dict)
        and not config.get("SENTINELS")
        and not config.get("CLUSTER")
        and (is_example_server(config.get("URL", "")) or config.get("URL", "").startswith("fakeredis:"))
        for config in redis_pool.values()
    )


def on_test_server(redis_pool: dict[str, Any], port: int) -> dict[str, Any]:
    """A copy of an example's REDIS_POOL on the suite's server (the example's dict is left alone)."""
    moved = copy.deepcopy(redis_pool)
    for config in moved.values():
        if is_example_server(config["URL"]):
            config["URL"] = to_test_server(config["URL"], port)
    return moved


def caches_on_test_server(caches_setting: dict[str, Any], port: int) -> dict[str, Any]:
    """A copy of an example's CACHES whose LOCATION URLs on the examples' server (Django's own
    RedisCache, say) point at the suite's server; those caches are then tried like ours."""
    moved = copy.deepcopy(caches_setting)
    for config in moved.values():
        location = config.get("LOCATION")
        if isinstance(location, str) and is_example_server(location):
            config["LOCATION"] = to_test_server(location, port)
            config[_MOVED] = True  # Django ignores unknown keys of a cache
    return moved


class Page:
    """The settings one page has set so far, in force while its blocks run."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.settings: dict[str, Any] = {
            "REDIS_POOL": {
                "default": {"URL": to_test_server("redis://127.0.0.1:6379/0", server.port), **LIMITS},
                "sessions": {"URL": to_test_server("redis://127.0.0.1:6379/1", server.port), **LIMITS},
            }
        }
        server.admin().flushall()

    def absorb(self, assigned: dict[str, Any]) -> None:
        """Validate the settings a block assigned and, where they can run here, apply and try them."""
        if "REDIS_POOL" in assigned:
            parse_redis_pool(assigned["REDIS_POOL"])
            if not runs_here(assigned["REDIS_POOL"]):
                return  # parsed only: its servers are not the suite's
            self.settings["REDIS_POOL"] = on_test_server(assigned["REDIS_POOL"], self.server.port)
        for name, value in assigned.items():
            if name == "CACHES":
                value = caches_on_test_server(value, self.server.port)
            if name == "INSTALLED_APPS":
                installed = list(django_settings.INSTALLED_APPS)
                value = installed + [app for app in value if isinstance(app, str) and app not in installed]
            if name != "REDIS_POOL":
                self.settings[name] = value
        with override_settings(**self.settings):
            self.try_settings()

    def try_settings(self) -> None:
        messages = [f"{m.id}: {m.msg}" for m in run_checks()]
        assert messages == [], "the example's settings fail the system checks"
        for alias in self.settings["REDIS_POOL"]:
            assert get_redis(alias).ping() is True
        for name, config in django_settings.CACHES.items():
            if config.get("BACKEND") == POOLED_CACHE or config.get(_MOVED):
                caches[name].set("docs-example", {"stored": name})
                assert caches[name].get("docs-example") == {"stored": name}
                caches[name].delete("docs-example")


class DocsEvaluator:
    """Runs one block inside its page's settings, then takes in the settings it assigned."""

    def __init__(self) -> None:
        self.python = PythonEvaluator()

    def __call__(self, example: Example) -> None:
        namespace = example.namespace
        page = namespace.get(_PAGE)
        if page is None:
            page = namespace[_PAGE] = Page(namespace["docs_redis_server"])
        before = {name: namespace.get(name) for name in SETTING_NAMES}
        with override_settings(**page.settings):
            self.python(example)
        assigned = {
            name: namespace[name]
            for name in SETTING_NAMES
            if name in namespace and namespace[name] is not before[name]
        }
        if not assigned:
            return
        if SAMPLE_CONFIG.search(example.document.text, 0, example.start):
            # The input of a generated sample (tests/test_docs_samples.py runs it for real, expected
            # warnings included): parsed here, not applied.
            if "REDIS_POOL" in assigned:
                parse_redis_pool(assigned["REDIS_POOL"])
            return
        page.absorb(assigned)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The examples need the server the suite starts: ``-m "not real_redis"`` leaves them out."""
    for item in items:
        if "docs_redis_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_redis)


pytest_collect_file = Sybil(
    parsers=[CodeBlockParser(language="python", evaluator=DocsEvaluator()), SkipParser()],
    path=str(ROOT),
    patterns=["README.md", "docs/*.md"],
    fixtures=["docs_redis_server"],
).pytest()
