"""redis-py's errors while building a pool become errors naming the alias and the key, secrets scrubbed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from redis.credentials import UsernamePasswordCredentialProvider

from django_redis_pool import get_pool
from django_redis_pool._conf.build_errors import setting_error
from django_redis_pool._conf.settings import parse_alias
from django_redis_pool._registry import sync as registry

# redis-py 8 names AbstractConnection.__init__(), redis-py 5 __init__().
INIT = r"(AbstractConnection\.)?__init__\(\)"


def error_for(settings: Any, config: dict[str, Any]) -> str:
    settings.REDIS_POOL = {"cache": config}
    error = registry.build_error()
    assert error is not None
    return str(error)


def test_bad_protocol_in_options_names_the_option(settings: Any) -> None:
    message = error_for(settings, {"URL": "redis://:Pw4711@127.0.0.1:1/0", "OPTIONS": {"protocol": 7}})
    assert message == (
        "REDIS_POOL['cache']['OPTIONS']['protocol'] is refused by redis-py: protocol must be either 2 or 3"
    )


def test_bad_ssl_cert_reqs_in_options_names_the_option(settings: Any) -> None:
    message = error_for(settings, {"URL": "rediss://127.0.0.1:1/0", "OPTIONS": {"ssl_cert_reqs": "bogus"}})
    assert message == (
        "REDIS_POOL['cache']['OPTIONS']['ssl_cert_reqs'] is refused by redis-py: "
        "Invalid SSL Certificate Requirements Flag: bogus"
    )


def test_credential_provider_with_a_url_user_names_both(settings: Any) -> None:
    provider = UsernamePasswordCredentialProvider("alice", "Pw4711")
    message = error_for(
        settings, {"URL": "redis://alice@127.0.0.1:1/0", "OPTIONS": {"credential_provider": provider}}
    )
    assert message.startswith(
        "REDIS_POOL['cache']['URL'] (its user name in 'redis://alice@127.0.0.1:1/0') and "
        "REDIS_POOL['cache']['OPTIONS']['credential_provider'] cannot be given together: "
        "'username' and 'password' cannot be passed along with 'credential_provider'."
    )
    assert "Pw4711" not in message


def test_unknown_url_query_argument_is_blamed_on_the_url(settings: Any) -> None:
    message = error_for(
        settings, {"URL": "redis://:Pw4711@127.0.0.1:1/0?foo=1", "OPTIONS": {"decode_responses": True}}
    )
    assert re.fullmatch(
        r"REDIS_POOL\['cache'\]\['URL'\] \(its query argument 'foo' in "
        r"'redis://:\*\*\*@127\.0\.0\.1:1/0\?foo=1'\) is refused by redis-py: "
        f"{INIT} got an unexpected keyword argument 'foo'",
        message,
    ), message


def test_bad_protocol_in_the_url_is_blamed_on_the_url(settings: Any) -> None:
    message = error_for(settings, {"URL": "redis://127.0.0.1:1/0?protocol=7"})
    assert message == (
        "REDIS_POOL['cache']['URL'] (its query argument 'protocol' in 'redis://127.0.0.1:1/0?protocol=7') "
        "is refused by redis-py: protocol must be either 2 or 3"
    )


def test_options_db_without_a_url_db_reaches_the_fake_backend(settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": "fakeredis://", "OPTIONS": {"db": 3}}}
    assert registry.build_error() is None
    assert get_pool().connection_kwargs["db"] == 3


PARSED = parse_alias("cache", {"URL": "redis://u:Pw%234711@h:1/0", "OPTIONS": {"ssl_password": "Ssl4711"}})


def always_fails(kwargs: dict[str, Any]) -> None:
    raise ValueError("still")


@pytest.mark.parametrize("build", [None, always_fails])
def test_an_error_no_setting_explains_names_the_alias_with_secrets_scrubbed(build: Any) -> None:
    exc = ValueError("cannot use Pw#4711, Pw%234711 or\nSsl4711")
    message = str(setting_error(PARSED, exc, {"ssl_password": "Ssl4711"}, build))
    assert message == (
        "REDIS_POOL['cache'] could not build a pool from 'redis://u:***@h:1/0' and "
        "{'timeout': 5.0, 'ssl_password': '***'}: cannot use ***, *** or ***"
    )


def test_an_error_mentioning_one_setting_names_it() -> None:
    message = str(setting_error(PARSED, ValueError("ssl_password is wrong")))
    assert (
        message
        == "REDIS_POOL['cache']['OPTIONS']['ssl_password'] is refused by redis-py: ssl_password is wrong"
    )


def test_an_error_mentioning_a_top_level_key_names_the_key() -> None:
    parsed = parse_alias("cache", {"URL": "redis://h:1/0", "SOCKET_TIMEOUT": 5})
    message = str(setting_error(parsed, ValueError("socket_timeout is odd")))
    assert message == "REDIS_POOL['cache']['SOCKET_TIMEOUT'] is refused by redis-py: socket_timeout is odd"


def test_query_passwords_are_scrubbed_raw_and_decoded() -> None:
    parsed = parse_alias("cache", {"URL": "unix:///r.sock?password=Pw%2B47+11&db=1"})
    message = str(setting_error(parsed, ValueError("no: Pw%2B47+11 Pw+47 11")))
    assert message == (
        "REDIS_POOL['cache'] could not build a pool from 'unix:///r.sock?password=***&db=1' and "
        "{'timeout': 5.0}: "
        "no: *** ***"
    )


def test_an_error_while_building_the_pool_names_the_setting(settings: Any) -> None:
    message = error_for(settings, {"URL": "fakeredis://", "OPTIONS": {"server": None}})
    assert message.startswith("REDIS_POOL['cache']['OPTIONS']['server'] is refused by redis-py: ")
    assert message.endswith("got multiple values for keyword argument 'server'")
