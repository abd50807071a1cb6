"""Failures reported exactly, on both drivers: every failed connect of a pooled connection reaches the
caller as the same redis-py class, named after the alias and redacted, counted once in
``connection_errors`` and not as a checkout; after a failed AUTH, no frame on Django's technical 500
page (locals included, of chained exceptions too) shows a password; and a rebuild of the pools
retires the old ones without closing a connection under its caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, technical_500_response
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.contract.drivers import WAIT, Driver
from tests.support.redis_server import APP_PASSWORD, free_port

USER = "contract-failures"
PASSWORD = "first-Pa55-not-leaked"
OPTIONS_PASSWORD = "options-Pa55-not-leaked"
AUTH_FAILED = "invalid username-password pair or user is disabled."


@pytest.fixture
def acl_user(pool_driver: Driver) -> Iterator[Any]:
    """A user of the server's own for this test, with PASSWORD; removed afterwards."""
    admin = pool_driver.server.admin()
    admin.execute_command("ACL", "SETUSER", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")
    try:
        yield admin
    finally:
        admin.execute_command("ACL", "DELUSER", USER)
        admin.close()


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and those it was raised from, as Django's debug page walks them."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def counted(pool_driver: Driver) -> tuple[int, int]:
    stats = pool_driver.stats()
    return stats["connection_errors"], stats["checkouts"]


def test_a_refused_connect_names_the_alias_keeps_its_class_and_counts_once(pool_driver: Driver) -> None:
    port = free_port()
    pool_driver.configure(URL=f"redis://127.0.0.1:{port}/0", OPTIONS={"retry": None})
    with pytest.raises(redis.ConnectionError) as info:
        pool_driver.command("GET", "k")
    error = info.value
    assert type(error) is redis.ConnectionError
    assert str(error).startswith(f"REDIS_POOL['contract']: Error 111 connecting to 127.0.0.1:{port}.")
    cause = error.__cause__
    assert type(cause) is redis.ConnectionError  # redis-py's own, chained, without its frames
    assert str(cause) == str(error).removeprefix("REDIS_POOL['contract']: ")
    assert cause.__traceback__ is None
    assert counted(pool_driver) == (1, 0)


def test_a_failed_auth_names_the_alias_and_counts_once(pool_driver: Driver, acl_user: Any) -> None:
    url = f"redis://{USER}:wrong-{PASSWORD}@127.0.0.1:{pool_driver.server.port}/0"
    pool_driver.configure(URL=url, OPTIONS={"retry": None})
    with pytest.raises(redis.AuthenticationError) as info:
        pool_driver.command("GET", "k")
    assert str(info.value) == f"REDIS_POOL['contract']: {AUTH_FAILED}"
    assert counted(pool_driver) == (1, 0)


def test_a_failed_reconnect_inside_a_commands_retries_is_named_and_counted(
    pool_driver: Driver, acl_user: Any
) -> None:
    url = f"redis://{USER}:{PASSWORD}@127.0.0.1:{pool_driver.server.port}/0"
    # retry_on_error: redis-py 5.0 retries a ConnectionError only when told to (8.x by default).
    pool_driver.configure(
        URL=url, OPTIONS={"retry": Retry(NoBackoff(), 1), "retry_on_error": [redis.ConnectionError]}
    )
    connection = pool_driver.checkout()
    # The password changes and the server drops the connection: the command's read fails on the
    # established connection, and redis-py's one retry reconnects, with the old password.
    acl_user.execute_command("ACL", "SETUSER", USER, "resetpass", ">second-Pa55-not-leaked")
    acl_user.execute_command("CLIENT", "KILL", "USER", USER)
    try:
        with pytest.raises(redis.AuthenticationError) as info:
            pool_driver.command_on(connection, "GET", "k")
    finally:
        pool_driver.release(connection)
    assert str(info.value) == f"REDIS_POOL['contract']: {AUTH_FAILED}"
    assert counted(pool_driver) == (1, 1)  # the checkout worked; its reconnect did not


def failed_auth(pool_driver: Driver) -> redis.AuthenticationError:
    """The error of a command whose AUTH fails, caught here: no frame of it is the test's, whose
    locals hold the password (a view's frames hold its own locals, not the setting's)."""
    try:
        pool_driver.command("GET", "k")
    except redis.AuthenticationError as exc:
        return exc
    raise AssertionError("AUTH succeeded")


@pytest.mark.parametrize("where", ["URL", "OPTIONS"])
def test_the_debug_500_page_after_a_failed_auth_shows_no_password(pool_driver: Driver, where: str) -> None:
    # A user the server does not know, with the password of one it does: AUTH fails for real.
    port = pool_driver.server.port
    if where == "URL":
        url, options = f"redis://ghost:{APP_PASSWORD}@127.0.0.1:{port}/0", {}
    else:
        url, options = f"redis://127.0.0.1:{port}/0", {"username": "ghost", "password": OPTIONS_PASSWORD}
    pool_driver.configure(URL=url, OPTIONS={"retry": None, **options})
    error = failed_auth(pool_driver)
    secret = APP_PASSWORD if where == "URL" else OPTIONS_PASSWORD
    request = RequestFactory().get("/")
    reporter = ExceptionReporter(request, type(error), error, error.__traceback__)
    html = reporter.get_traceback_html()
    text = reporter.get_traceback_text()
    page = technical_500_response(request, type(error), error, error.__traceback__).content.decode()
    assert "REDIS_POOL[&#x27;contract&#x27;]: invalid username-password pair" in html  # it rendered
    assert "Local vars" in html  # with the frames' locals, where redis-py's auth_args would be
    # Everything but the settings, which Django lists as they are (masking keys named like
    # 'password', so a password in OPTIONS, not one inside a URL: docs/failures.md says so).
    for rendered in (html, page):
        assert secret not in rendered.partition('<h3 id="settings-info">')[0]
    assert secret not in text.partition("\nSettings:\n")[0]
    assert [
        v
        for frame in reporter.get_traceback_data()["frames"]
        for _, v in frame.get("vars", ())
        if secret in str(v)
    ] == []
    if where == "OPTIONS":
        assert (secret in html, secret in page, secret in text) == (False, False, False)
    frames = [tb.tb_frame for exc in chain(error) for tb in tracebacks(exc)]
    assert frames  # the error's own frames are there: the caller's, down to the pool
    assert [f.f_code.co_name for f in frames if any(secret in repr(v) for v in f.f_locals.values())] == []


def tracebacks(exc: BaseException) -> Iterator[Any]:
    tb = exc.__traceback__
    while tb is not None:
        yield tb
        tb = tb.tb_next


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.01)


def test_a_rebuild_retires_the_old_pool_idle_connections_now_in_use_ones_at_release(
    pool_driver: Driver,
) -> None:
    pool_driver.configure(MAX_CONNECTIONS=4)
    old = pool_driver.current_pool()
    held, spare = pool_driver.checkout(), pool_driver.checkout()
    pool_driver.release(spare)  # idle in the old pool
    assert len(pool_driver.pooled_client_ids()) == 2
    pool_driver.configure(MAX_CONNECTIONS=3)  # REDIS_POOL changes: the pools are rebuilt
    new = pool_driver.current_pool()
    assert (new is old, old.retired, new.retired, new.max_connections) == (False, True, False, 3)
    wait_until(lambda: len(pool_driver.pooled_client_ids()) == 1, "closed the old pool's idle connection")
    assert pool_driver.command_on(held, "PING") is True  # the held one still serves its caller
    pool_driver.release_to(old, held)
    wait_until(lambda: pool_driver.pooled_client_ids() == set(), "closed the held connection at release")
    assert old.stats()["in_use"] == 0
    assert pool_driver.command("PING") is True
    assert len(pool_driver.pooled_client_ids()) == 1  # the new pool's own
