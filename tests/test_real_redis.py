"""Behaviour against the real redis-server the suite starts (see conftest.redis_server)."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import pytest
import redis
from redis._parsers import _RESP2Parser  # in every redis-py of the matrix (5.0 to 8)

from django_redis_pool import PoolExhaustedError, get_pool, get_redis, get_stats
from django_redis_pool._pool.naming import local_host
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import APP_PASSWORD, NOLIST_PASSWORD, RedisServer, free_port


def text(value: Any) -> Any:
    """Some replies are bytes on redis-py 5 and str on redis-py 8."""
    return value.decode() if isinstance(value, bytes) else value


def total_connections_received(admin: redis.Redis) -> int:
    return int(admin.info("stats")["total_connections_received"])


def test_round_trip_per_alias_on_separate_databases(redis_server: RedisServer, settings: Any) -> None:
    redis_server.admin().flushall()
    settings.REDIS_POOL = {
        "default": {"URL": redis_server.url, **SAFE_LIMITS},
        "sessions": {"URL": redis_server.url.replace("/0", "/1"), **SAFE_LIMITS},
    }
    get_redis().set("k", "default")
    get_redis("sessions").set("k", "sessions")
    assert get_redis().get("k") == b"default"
    assert get_redis("sessions").get("k") == b"sessions"
    assert get_pool("sessions") is not get_pool()
    assert get_redis("sessions").connection_pool is get_pool("sessions")


def test_unix_socket_round_trip(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.unix_url, **SAFE_LIMITS}}
    get_redis().set("unix", "yes")
    assert get_redis().get("unix") == b"yes"
    assert get_pool().connection_class is redis.UnixDomainSocketConnection


def test_tls_round_trip_with_a_verified_certificate(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {
            "URL": redis_server.tls_url(),
            **SAFE_LIMITS,
            "OPTIONS": {"ssl_ca_certs": str(redis_server.ca_path), "ssl_cert_reqs": "required"},
        }
    }
    get_redis().set("tls", "yes")
    assert get_redis().get("tls") == b"yes"
    assert get_pool().connection_class is redis.SSLConnection


def test_tls_with_an_unknown_certificate_is_refused(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": redis_server.tls_url(), **SAFE_LIMITS, "OPTIONS": {"retry": None}}
    }
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        get_redis().ping()
    assert get_stats("default")["connection_errors"] == 1


def test_connections_are_named_for_operators(real_redis: RedisServer) -> None:
    assert text(get_redis().client_getname()) == f"django_redis_pool:default:{local_host()}:{os.getpid()}"


def test_client_name_prefix_is_configurable_and_can_be_off(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {
        "web": {"URL": redis_server.url, "CLIENT_NAME": "shop-web"},
        "anon": {"URL": redis_server.url, "CLIENT_NAME": None},
    }
    assert text(get_redis("web").client_getname()) == f"shop-web:web:{local_host()}:{os.getpid()}"
    assert get_redis("anon").client_getname() is None


def test_acl_user_and_password_from_the_url(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url_for("app", APP_PASSWORD), **SAFE_LIMITS}}
    assert text(get_redis().acl_whoami()) == "app"


def test_wrong_password_error_and_logs_do_not_leak_it(
    redis_server: RedisServer, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrong-Secret-9f3a"
    settings.REDIS_POOL = {
        "default": {"URL": redis_server.url_for("app", secret), **SAFE_LIMITS, "OPTIONS": {"retry": None}}
    }
    with pytest.raises(redis.AuthenticationError) as info:
        get_redis().ping()
    text = f"{info.value!s} {info.value!r} {get_pool()!r} {get_redis()!r} {caplog.text}"
    assert secret not in text
    assert "redis://app:***@127.0.0.1" in caplog.text
    assert get_stats("default")["connection_errors"] == 1


def test_a_parser_class_named_by_its_dotted_path_reads_the_replies(
    redis_server: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {
        "default": {
            "URL": redis_server.url,
            **SAFE_LIMITS,
            "OPTIONS": {"parser_class": "redis._parsers._RESP2Parser", "protocol": 2},
        }
    }
    get_redis().set("dotted", "parsed")
    assert get_redis().get("dotted") == b"parsed"
    connection = checkout(get_pool())
    try:
        assert type(connection._parser) is _RESP2Parser
    finally:
        get_pool().release(connection)


def test_refused_connection_error_does_not_leak_the_password(settings: Any) -> None:
    secret = "refused-Secret-77b1"
    port = free_port()  # nothing listens there
    settings.REDIS_POOL = {
        "default": {"URL": f"redis://:{secret}@127.0.0.1:{port}/0", **SAFE_LIMITS, "OPTIONS": {"retry": None}}
    }
    with pytest.raises(redis.ConnectionError) as info:
        get_redis().get("k")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert secret not in f"{info.value!s} {info.value!r} {get_pool()!r}"


def test_exhausted_blocking_pool_waits_pool_timeout_then_raises(
    redis_server: RedisServer, settings: Any
) -> None:
    settings.REDIS_POOL = {
        "default": {"URL": redis_server.url, "MAX_CONNECTIONS": 2, "POOL_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 5}
    }
    pool = get_pool()
    held = [checkout(pool), checkout(pool)]
    started = time.monotonic()
    with pytest.raises(PoolExhaustedError) as info:
        get_redis().get("k")
    waited = time.monotonic() - started
    assert waited >= 0.2
    assert isinstance(info.value, redis.ConnectionError)
    assert str(info.value) == (
        "Redis pool 'default' is exhausted: all MAX_CONNECTIONS=2 connections are in use and the caller "
        "waited POOL_TIMEOUT=0.2s for one to be released. Raise MAX_CONNECTIONS (within the server's "
        "maxclients) rather than POOL_TIMEOUT, or release connections sooner (close pipelines and pubsubs)."
    )
    for connection in held:
        pool.release(connection)
    assert get_redis().get("k") is None
    stats = get_stats("default")
    assert (stats["exhausted"], stats["waits"], stats["in_use"], stats["connections_created"]) == (1, 1, 0, 2)
    assert stats["wait_ms_max"] >= 200


def test_exhausted_non_blocking_pool_raises_at_once(redis_server: RedisServer, settings: Any) -> None:
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "MAX_CONNECTIONS": 1, "BLOCKING": False}}
    pool = get_pool()
    held = checkout(pool)
    with pytest.raises(PoolExhaustedError) as info:
        get_redis().get("k")
    assert "MAX_CONNECTIONS=1" in str(info.value)
    assert "'BLOCKING': False" in str(info.value)
    pool.release(held)
    assert get_redis().get("k") is None
    assert get_stats("default")["exhausted"] == 1


@pytest.mark.slow
def test_sixteen_threads_share_a_pool_of_eight(redis_server: RedisServer, settings: Any) -> None:
    admin = redis_server.admin()  # one connection, opened before counting starts
    admin.flushall()
    settings.REDIS_POOL = {"default": {"URL": redis_server.url, "MAX_CONNECTIONS": 8, **SAFE_LIMITS}}
    before = total_connections_received(admin)
    errors: list[BaseException] = []
    per_thread = 625  # 16 x 625 = 10,000 calls

    def work(n: int) -> None:
        try:
            client = get_redis()
            for _ in range(per_thread):
                client.incr(f"t{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [int(v) for v in admin.mget([f"t{n}" for n in range(16)])] == [per_thread] * 16
    assert total_connections_received(admin) - before <= 8
    stats = get_stats("default")
    assert stats["checkouts"] == 16 * per_thread
    assert stats["connections_created"] <= 8
    assert stats["peak_in_use"] <= 8
    assert stats["in_use"] == 0


def test_forked_child_gets_new_connections_and_parent_keeps_its_own(real_redis: RedisServer) -> None:
    parent_id = get_redis().client_id()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            client = get_redis()
            client_id, name = client.client_id(), text(client.client_getname())
            report = f"{client_id} {name} {get_stats('default')['checkouts']}"
            os.write(write_fd, report.encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_fd) as pipe:
        child_id, child_name, child_checkouts = pipe.read().split()
    assert status == 0
    assert int(child_id) != parent_id
    assert child_name == f"django_redis_pool:default:{local_host()}:{pid}"
    assert child_checkouts == "2"  # the child's counters start afresh: CLIENT ID and CLIENT GETNAME
    assert get_redis().client_id() == parent_id
    name = f"django_redis_pool:default:{local_host()}:{os.getpid()}"
    assert text(get_redis().client_getname()) == name


def test_closing_the_pool_in_a_forked_child_leaves_the_parent_alone(real_redis: RedisServer) -> None:
    """What a Celery ``worker_process_init`` handler might do: harmless, as the README says."""
    parent_id = get_redis().client_id()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            get_pool().disconnect()
            client = get_redis()
            os.write(write_fd, f"{client.client_id()} {text(client.client_getname())}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_fd) as pipe:
        child_id, child_name = pipe.read().split()
    assert status == 0
    assert int(child_id) != parent_id
    assert child_name == f"django_redis_pool:default:{local_host()}:{pid}"
    assert get_redis().client_id() == parent_id  # the same connection: the child closed none of ours
    assert get_stats("default")["connections_created"] == 1


def test_nolist_user_is_a_fixture_for_the_status_command(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url_for("nolist", NOLIST_PASSWORD))
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.client_list()
    client.close()
