"""pytest plugin for one run of django-redis's tests on one of its settings files.

Loaded with ``-p django_redis_gate_plugin --django-redis-settings=NAME`` (its folder on PYTHONPATH).
django-redis's conftest parametrizes every test that uses its ``cache`` or ``session`` fixture with
all twelve settings files and, in that fixture, points DJANGO_SETTINGS_MODULE at
``settings.<name>``; its CI gives each settings file its own xdist worker, since Django's settings
load once per process. This plugin does the same one file per process without xdist: it keeps the
tests parametrized with NAME (and, when asked, the tests that take no settings file at all) and
loads the gate's settings module before any test runs, so the fixture's later ``setup()`` finds
Django configured with it.
"""

from __future__ import annotations

import os

import pytest

SETTINGS_PARAMETER = "cache_settings"  # the parameter django-redis's conftest adds


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("django-redis gate")
    group.addoption("--django-redis-settings", metavar="NAME", help="the settings file this run is for")
    group.addoption(
        "--django-redis-unparametrized",
        action="store_true",
        help="also run the tests that take no settings file",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--django-redis-settings"):
        return
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_redis_gate_settings"
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018 (binds the lazy settings to the gate's module now)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = config.getoption("--django-redis-settings")
    if not name:
        return
    with_unparametrized = config.getoption("--django-redis-unparametrized")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if SETTINGS_PARAMETER in params:
            wanted = params[SETTINGS_PARAMETER] == name
        else:
            wanted = bool(with_unparametrized)
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
