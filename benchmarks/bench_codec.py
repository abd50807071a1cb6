"""The cache's value codec vs Django's RedisSerializer and django-redis's DefaultClient.encode/decode.

``python benchmarks/bench_codec.py [--rounds 41] [--n 2000] [--instructions]`` needs no server. For each
codec (pickle+identity, pickle+zlib, msgpack+lz4) and value (an int, a short str, a small dict) it
prints the median per-round time ratio ours / peer (paired rounds, order alternating, so below 1:
ours faster) and with ``--instructions`` the instructions per call counted by callgrind, which do not
move with the other load on a shared machine as wall time does.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import median, paired_ratios, table

VALUES: dict[str, Any] = {
    "int": 123456,
    "str": "a short cached string",
    "dict": {"id": 42, "name": "x" * 64, "tags": ["a", "b", "c"]},
}
CODECS = {
    "pickle+identity": ("django_redis.serializers.pickle.PickleSerializer", "identity"),
    "pickle+zlib": ("django_redis.serializers.pickle.PickleSerializer", "zlib"),
    "msgpack+lz4": ("django_redis.serializers.msgpack.MSGPackSerializer", "lz4"),
}
DJANGO_REDIS_COMPRESSORS = {
    "identity": "django_redis.compressors.identity.IdentityCompressor",
    "zlib": "django_redis.compressors.zlib.ZlibCompressor",
    "lz4": "django_redis.compressors.lz4.Lz4Compressor",
}


def setup() -> None:
    from django.conf import settings

    settings.configure()


def contenders(codec: str, value: Any) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """name -> (encode call, decode call) on ``value``, each as the cache backend makes it."""
    from django.core.cache.backends.redis import RedisSerializer
    from django_redis.client.default import DefaultClient

    from django_redis_pool._cache.codec import build_codec

    serializer, compressor = CODECS[codec]
    ours = build_codec({"SERIALIZER": serializer, "COMPRESSOR": compressor}, "bench")
    options = {"SERIALIZER": serializer, "COMPRESSOR": DJANGO_REDIS_COMPRESSORS[compressor]}
    theirs = DefaultClient("redis://127.0.0.1:1/0", {"OPTIONS": options}, None)
    raw = ours.encode(value)
    raw = raw if isinstance(raw, bytes) else str(raw).encode()  # what Redis gives back
    found = {
        "ours": (lambda: ours.encode(value), lambda: ours.decode(raw)),
        "django-redis": (lambda: theirs.encode(value), lambda: theirs.decode(raw)),
    }
    if codec == "pickle+identity":
        django = RedisSerializer()
        found["django"] = (lambda: django.dumps(value), lambda: django.loads(raw))
    return found


def count(codec: str, value: str, which: str, op: str, n: int) -> None:
    """The loop callgrind counts: ``n`` calls of one contender's encode or decode, after a warm-up."""
    setup()
    call = contenders(codec, VALUES[value])[which][op == "decode"]
    for _ in range(200):
        call()
    for _ in range(n):
        call()


def instructions(codec: str, value: str, which: str, op: str, n: int = 10_000) -> float:
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for calls in (0, n):
            out = Path(tmp) / f"{calls}.out"
            command = [sys.executable, __file__, "--count", codec, value, which, op, str(calls)]
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                capture_output=True,
                check=True,
                timeout=600,
                env={**os.environ, "PYTHONHASHSEED": "0"},  # the same start-up in both runs
            )
            match = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
            totals.append(int(match.group(1)) if match else 0)
    return (totals[1] - totals[0]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--codec", choices=CODECS, action="append", help="only this codec (repeatable)")
    parser.add_argument("--count", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:
        codec, value, which, op, calls = args.count
        count(codec, value, which, op, int(calls))
        return
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    setup()
    rows = []
    for codec in args.codec or CODECS:
        for value in VALUES:
            found = contenders(codec, VALUES[value])
            for peer in [name for name in found if name != "ours"]:
                for index, op in enumerate(("encode", "decode")):
                    ratio = median(
                        paired_ratios(found["ours"][index], found[peer][index], args.rounds, args.n)
                    )
                    row = [codec, value, op, peer, f"{ratio:.2f}"]
                    if args.instructions:
                        mine, theirs = (instructions(codec, value, w, op) for w in ("ours", peer))
                        row += [f"{mine:,.0f}", f"{theirs:,.0f}", f"{mine / theirs:.2f}"]
                    rows.append(row)
    headers = ["codec", "value", "op", "peer", "time ours/peer"]
    if args.instructions:
        headers += ["instructions ours", "instructions peer", "ours/peer"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
