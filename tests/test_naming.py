from __future__ import annotations

import pytest

from django_redis_pool._pool.naming import alias_matches, format_client_name, local_host, parse_client_name

ALIASES = ["a b", "a_b", "a%20b", "a%b", "a.b", "a-b", "caf\u00e9", "cafe", "x:y", "x_y", "~", "_"]


def test_client_names_of_different_aliases_differ() -> None:
    names = [format_client_name("p", alias, 7) for alias in ALIASES]
    assert len(set(names)) == len(ALIASES)


@pytest.mark.parametrize(
    ("alias", "part"),
    [("a b", "a%20b"), ("a_b", "a_b"), ("a%20b", "a%2520b"), ("caf\u00e9", "caf%C3%A9"), ("x:y", "x%3Ay")],
)
def test_unsafe_alias_characters_are_percent_encoded(alias: str, part: str) -> None:
    name = format_client_name("p", alias, 7)
    assert name == f"p:{part}:{local_host()}:7"
    assert all("!" <= c <= "~" for c in name)


def test_an_alias_matches_only_its_own_connections() -> None:
    parsed = parse_client_name(format_client_name("p", "a b", 7))
    assert parsed is not None
    assert [alias for alias in ALIASES if alias_matches(alias, parsed, "p")] == ["a b"]
