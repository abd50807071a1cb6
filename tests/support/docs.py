"""Reading (and, for the generated samples, rewriting) the fenced blocks of README.md and docs/*.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# The address every example uses for "your Redis server"; the tests run them against the suite's own.
EXAMPLE_ADDRESS = "127.0.0.1:6379"

# A fenced block, optionally right after a marker comment naming it: <!-- sample: status-text -->
_BLOCK = re.compile(
    r"(?:^<!-- (?P<kind>sample|sample-config): (?P<name>[\w-]+) -->\n)?"
    r"^(?P<fence>```+)(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=fence)$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    path: Path
    lang: str
    body: str
    name: str | None
    kind: str | None  # "sample" (an output) or "sample-config" (the settings it came from)
    start: int  # offsets of the body in the file, for rewriting it
    end: int


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    return [
        Block(path, m["lang"], m["body"], m["name"], m["kind"], m.start("body"), m.end("body"))
        for m in _BLOCK.finditer(text)
    ]


def named_block(path: Path, name: str, kind: str = "sample") -> Block:
    found = [b for b in blocks(path) if b.name == name and b.kind == kind]
    if len(found) != 1:
        raise LookupError(f"{path.name} has {len(found)} blocks marked <!-- {kind}: {name} -->, not 1.")
    return found[0]


def replace_block(block: Block, body: str) -> None:
    text = block.path.read_text()
    if not body.endswith("\n"):
        body += "\n"
    block.path.write_text(text[: block.start] + body + text[block.end :])


def is_example_server(url: str) -> bool:
    """Whether ``url`` points at the examples' server (redis://[user[:password]@]127.0.0.1:6379/db)."""
    parts = urlsplit(url)
    return parts.scheme == "redis" and parts.netloc.rpartition("@")[2] == EXAMPLE_ADDRESS


def to_test_server(url: str, port: int) -> str:
    """An example's URL, on the suite's redis-server instead."""
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}127.0.0.1:{port}"))
