"""A project's sdist from the package index, downloaded into .conformance/ and partly extracted, once.

redis-py and Django ship their test suites in their sdists: the conformance runs take the tests from
there and the package itself from the venv.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".conformance"


def fetch_sdist(label: str, project: str, version: str, keep: Callable[[str], bool], expect: str) -> Path:
    """``CACHE/<project>-<version>``, holding the members of the sdist that ``keep`` (given a member's
    path relative to the sdist's top folder) accepts; ``expect`` (same relative form) must be there."""
    target = CACHE / f"{project}-{version}"
    done = target / ".extracted"
    if done.exists():
        return target
    CACHE.mkdir(exist_ok=True)
    archive = CACHE / f"{project}-{version}.tar.gz"
    if not archive.exists():
        print(f"{label}: downloading {project} {version}'s sdist into .conformance/", flush=True)
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps"]
        subprocess.run([*pip, "--dest", str(CACHE), f"{project}=={version}"], check=False)
        if not archive.exists():
            raise SystemExit(f"{label}: could not download {project} {version}'s sdist to {archive}")
    top = f"{project}-{version}/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(top) and keep(m.name[len(top) :])]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python 3.11.4+
        tar.extractall(CACHE, members=members, **safe)
    if not (target / expect).exists():
        raise SystemExit(f"{label}: {project} {version}'s sdist has no {expect}")
    done.touch()
    return target
