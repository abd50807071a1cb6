"""A separate process that holds N pooled connections until its stdin closes.

Run as ``python -m tests.support.holder URL N``; prints its pid once the connections are open.
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings


def main(url: str, count: int) -> None:
    settings.configure(INSTALLED_APPS=["django_redis_pool"], REDIS_POOL={"default": {"URL": url}})
    django.setup()
    from django_redis_pool import get_pool
    from tests.conftest import checkout

    pool = get_pool()
    held = [checkout(pool) for _ in range(count)]
    for connection in held:
        pool.release(connection)  # idle in the pool, still connected
    print(os.getpid(), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
