"""Package-wide invariants: one version source, modules small enough to read in one sitting."""

from __future__ import annotations

import tomllib
from pathlib import Path

import django_redis_pool

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "django_redis_pool"
MAX_MODULE_LINES = 300


def test_the_version_is_pyprojects() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert django_redis_pool.__version__ == pyproject["project"]["version"]


def test_every_module_is_at_most_300_lines() -> None:
    sizes = {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    over = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert over == {}
