from __future__ import annotations

import tomllib
from pathlib import Path

import django_redis_pool


def test_the_version_is_pyprojects() -> None:
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert django_redis_pool.__version__ == pyproject["project"]["version"]
