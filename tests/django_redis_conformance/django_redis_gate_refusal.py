"""Whether this backend refuses a settings file: ``python -m django_redis_gate_refusal``.

Run by ``run.py`` in a fresh process with the gate's settings module (``pooled``). Prints one last
line: ``refused: <why>`` when every cache alias is refused (ImproperlyConfigured when Django sets up
or the cache is built, or an error from the system checks), else ``accepted: <what was built>``.
"""

from __future__ import annotations

import sys

import django
from django.core.exceptions import ImproperlyConfigured


def main() -> int:
    try:
        django.setup()
    except ImproperlyConfigured as error:
        print(f"refused: {error}")
        return 0
    from django.conf import settings
    from django.core import checks
    from django.core.cache import caches

    try:
        errors = [message for message in checks.run_checks() if message.level >= checks.ERROR]
    except ImproperlyConfigured as error:  # a check that builds the caches (Django's own do)
        print(f"refused: {error}")
        return 0
    if errors:
        print(f"refused: {errors[0].id}: {errors[0].msg}")
        return 0
    accepted: list[str] = []
    refusals: list[str] = []
    for alias in settings.CACHES:
        try:
            accepted.append(f"{alias}: {type(caches[alias]).__name__}")
        except ImproperlyConfigured as error:
            refusals.append(str(error))
    if accepted:
        print(f"accepted: {', '.join(accepted)}")
    else:
        print(f"refused: {refusals[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
