"""Sphinx configuration of the documentation site (``make docs``).

Sphinx with the furo theme, the pages in Markdown through MyST. Built strict (``-W -n``): a warning,
a broken link between pages or to a heading, or an unknown reference fails the build. Nothing here
reaches the network (no intersphinx, no remote images), so the site builds offline.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version

project = "django-redis-pool"
author = "django-redis-pool developers"
copyright = "django-redis-pool developers"
release = installed_version("django-redis-pool")
version = release

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Headings up to ### get anchors, so that links such as [checks](checks.md#w003) are checked too.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

html_theme = "furo"
html_title = f"django-redis-pool {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
