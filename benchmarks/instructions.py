"""Run N GETs through one contender, for instruction counting under callgrind.

valgrind --tool=callgrind python benchmarks/instructions.py URL ours|ours-client|plain|plain-nonblocking N
"""

from __future__ import annotations

import gc
import sys

from common import KEY, setup_django


def main(url: str, which: str, n: int) -> None:
    setup_django(url)
    import redis

    from django_redis_pool import get_redis

    if which == "ours":
        get = lambda: get_redis().get(KEY)  # noqa: E731
    elif which == "ours-client":
        client = get_redis()
        get = lambda: client.get(KEY)  # noqa: E731
    elif which == "plain-nonblocking":
        plain = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, max_connections=50))
        get = lambda: plain.get(KEY)  # noqa: E731
    else:
        plain = redis.Redis(
            connection_pool=redis.BlockingConnectionPool.from_url(url, max_connections=50, timeout=20)
        )
        get = lambda: plain.get(KEY)  # noqa: E731
    for _ in range(500):  # connect and warm up outside the counted difference
        get()
    # A cyclic GC pass costs millions of instructions and lands in one run and not in
    # another: without it the two counts differ only by what each GET executes.
    gc.collect()
    gc.disable()
    for _ in range(n):
        get()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
