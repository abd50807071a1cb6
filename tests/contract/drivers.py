"""The thread driver and the asyncio driver behind one synchronous face, so each contract test is
written once and run on both.

A test configures the alias ``contract`` (its settings as a user writes them), then checks connections
out, runs commands, starts concurrent callers and reads stats, all as plain blocking calls:

* :class:`ThreadDriver` does each of these on the process's pool (``get_pool``/``get_redis``), and runs
  each concurrent caller in a thread of its own.
* :class:`AsyncioDriver` runs an event loop in a helper thread for the duration of the test and does
  each of these on that loop's pool (``get_async_redis(...).connection_pool``); every caller is a task
  on that one loop. A blocking call of the test waits for its coroutine to finish on the loop.

Stats are read where a user reads them: ``get_stats(alias)`` for the thread driver and
``get_stats(alias)["async"]`` for the asyncio driver (:meth:`Driver.pool_stats` reads one pool's own
``stats()``). Waits in a test are ended by events (a caller queued, a caller served), never by sleeping
until something has probably happened; every such wait is bounded by :data:`WAIT` seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import redis
import redis.asyncio

from django_redis_pool import aclose_pools, get_async_redis, get_pool, get_redis, get_stats
from tests.conftest import SAFE_LIMITS, checkout
from tests.support.redis_server import RedisServer

ALIAS = "contract"
WAIT = 10.0  # seconds: the bound on every event a test waits for (none should take near this long)
# A forked child reports back through a pipe: a JSON object, or the traceback that ended it.
ChildScript = Callable[["Driver"], dict[str, Any]]
T = TypeVar("T")


class Outcome:
    """What one caller of :meth:`Driver.run_concurrently` got."""

    def __init__(self) -> None:
        self.succeeded = 0
        self.errors: list[BaseException] = []


class WaitCancelled(BaseException):
    """What a signal handler raises into a thread blocked waiting for a connection: the thread
    driver's counterpart of ``Task.cancel()`` (KeyboardInterrupt, gunicorn's SystemExit on SIGTERM)."""


class Caller:
    """One concurrent caller: it checks a connection out (queueing if it must), records that it was
    served, holds the connection until :meth:`release` when started with ``hold=True``, releases it."""

    def __init__(self, name: str, hold: bool) -> None:
        self.name = name
        self.hold = hold
        self.connection: Any = None
        self.error: BaseException | None = None
        self.checked_out = threading.Event()  # its checkout returned or raised
        self.done = threading.Event()  # it has released its connection, or failed
        self.let_go: Callable[[], None] = lambda: None

    def served(self) -> Any:
        """Wait until its checkout returned; the connection it got (its error is raised)."""
        assert self.checked_out.wait(WAIT), f"{self.name} was never served"
        if self.error is not None:
            raise self.error
        return self.connection

    def release(self) -> None:
        self.let_go()

    def join(self) -> None:
        assert self.done.wait(WAIT), f"{self.name} did not finish"


class Driver:
    """What every contract test uses; one subclass per driver."""

    name: str
    cancelled_error: type[BaseException]  # what a cancelled waiter sees

    def __init__(self, server: RedisServer, settings: Any) -> None:
        self.server = server
        self.settings = settings
        self.served: list[str] = []  # callers' names, in the order their checkouts returned
        self.callers: list[Caller] = []

    # -- set up ------------------------------------------------------------------------------

    def configure(self, **config: Any) -> None:
        """Make the alias's pool from these settings (``REDIS_POOL['contract']``, UPPERCASE keys)
        on top of a URL to the real server and bounded socket timeouts."""
        alias = {"URL": self.server.url, **SAFE_LIMITS, **config}
        if alias.get("BLOCKING", True) is False and "POOL_TIMEOUT" not in config:
            del alias["POOL_TIMEOUT"]  # refused with BLOCKING False
        self.configure_alias(alias)

    def configure_alias(self, alias: dict[str, Any]) -> None:
        """Make the alias's pool from exactly this ``REDIS_POOL['contract']`` (any topology)."""
        self.settings.REDIS_POOL = {ALIAS: alias}
        self.open_pool()

    def open_pool(self) -> None:
        """Make sure this driver's pool exists (no I/O)."""
        raise NotImplementedError

    # -- operations --------------------------------------------------------------------------

    def checkout(self) -> Any:
        """Check a connection out of the pool, waiting as the pool decides."""
        raise NotImplementedError

    def release(self, connection: Any) -> None:
        raise NotImplementedError

    def current_pool(self) -> Any:
        """The pool ``checkout()`` takes from now (the asyncio driver's: its loop's)."""
        raise NotImplementedError

    def release_to(self, pool: Any, connection: Any) -> None:
        """Release ``connection`` to ``pool``, which need not be the current one."""
        raise NotImplementedError

    def release_then_checkout(self, connection: Any) -> Any:
        """Release ``connection`` and at once check one out again, as one step of the releasing
        caller (on asyncio with no other task running in between)."""
        raise NotImplementedError

    def command(self, *args: Any) -> Any:
        """Run one command through the alias's client (a checkout and a release)."""
        raise NotImplementedError

    def command_on(self, connection: Any, *args: Any) -> Any:
        """Run one command through a client of the alias's pool on this checked-out connection, with
        redis-py's retries (which reconnect it), leaving it checked out."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """The alias's stats as a user reads them for this driver."""
        raise NotImplementedError

    def pool_stats(self) -> dict[str, Any]:
        """This driver's pool's own ``stats()``."""
        raise NotImplementedError

    def start_caller(self, name: str | None = None, hold: bool = False) -> Caller:
        """Start a concurrent caller (a thread, or a task on the loop) and return at once."""
        caller = Caller(name or f"contract-caller-{len(self.callers)}", hold)
        self.callers.append(caller)
        self._start(caller)
        return caller

    def _start(self, caller: Caller) -> None:
        raise NotImplementedError

    def run_concurrently(self, callers: int, repeat: int, hold: float) -> list[Outcome]:
        """``callers`` concurrent callers, started together, each ``repeat`` times check a connection
        out, hold it ``hold`` seconds and release it; per caller, how many checkouts succeeded and
        the errors of the others."""
        raise NotImplementedError

    def cancel_waiter(
        self, hand_over: Any = None, queue_behind: int = 0
    ) -> tuple[BaseException, list[Caller]]:
        """Start a checkout that has to queue; once it is queued (and ``queue_behind`` callers queued
        after it), cancel it. With ``hand_over``, that connection is released to it in the same
        instant, so the cancellation lands after the hand-over. Returns what the cancelled checkout
        raised and the callers queued behind it."""
        raise NotImplementedError

    def in_forked_child(self, script: ChildScript) -> dict[str, Any]:
        """Fork; run ``script`` with a driver of the child's own; return its result and ``pid``."""
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork with threads
            pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                try:
                    report = json.dumps(self._run_in_child(script))
                    code = 0
                except BaseException:
                    report = traceback.format_exc()
                os.write(write_end, report.encode())
            finally:
                os._exit(code)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        output = b"".join(chunks).decode()
        assert status == 0, f"the forked child failed:\n{output}"
        return {"pid": pid, **json.loads(output)}

    def _run_in_child(self, script: ChildScript) -> dict[str, Any]:
        raise NotImplementedError

    def pooled_client_ids(self) -> set[int]:
        """The server's ids of the alias's connections (named ``django_redis_pool:contract:...``)."""
        prefix = f"django_redis_pool:{ALIAS}:"
        clients = self.server.admin().client_list()
        return {int(c["id"]) for c in clients if str(c.get("name", "")).startswith(prefix)}

    # -- waiting for events ------------------------------------------------------------------

    def wait_for_waiting(self, count: int) -> None:
        """Wait until exactly ``count`` callers are queued for a connection."""
        deadline = time.monotonic() + WAIT
        while (waiting := self.stats()["waiting"]) != count:
            assert time.monotonic() < deadline, f"waiting stayed {waiting}, never {count}"
            time.sleep(0.001)

    def close(self) -> None:
        for caller in self.callers:
            caller.release()


class ThreadDriver(Driver):
    name = "thread"
    cancelled_error = WaitCancelled

    def open_pool(self) -> None:
        get_redis(ALIAS)  # a Cluster alias builds its client here; get_pool() has no pool for one

    def checkout(self) -> Any:
        return checkout(get_pool(ALIAS))

    def release(self, connection: Any) -> None:
        get_pool(ALIAS).release(connection)

    def current_pool(self) -> Any:
        return get_pool(ALIAS)

    def release_to(self, pool: Any, connection: Any) -> None:
        pool.release(connection)

    def release_then_checkout(self, connection: Any) -> Any:
        self.release(connection)
        return self.checkout()

    def command(self, *args: Any) -> Any:
        return get_redis(ALIAS).execute_command(*args)

    def command_on(self, connection: Any, *args: Any) -> Any:
        client = redis.Redis(connection_pool=get_pool(ALIAS))
        client.connection = connection  # as a pipeline or a pubsub holds one
        try:
            return client.execute_command(*args)
        finally:
            client.connection = None  # still the caller's to release
            client.close()

    def stats(self) -> dict[str, Any]:
        return get_stats(ALIAS)

    def pool_stats(self) -> dict[str, Any]:
        return get_pool(ALIAS).stats()  # type: ignore[attr-defined,no-any-return]

    def _start(self, caller: Caller) -> None:
        let_go = threading.Event()
        caller.let_go = let_go.set
        threading.Thread(
            target=self.caller_takes_a_connection, args=(caller, let_go), name=caller.name, daemon=True
        ).start()

    def caller_takes_a_connection(self, caller: Caller, let_go: threading.Event) -> None:
        # The name is the frame a LEAK_WARNING must show, for both drivers.
        try:
            connection = self.checkout()
        except BaseException as exc:
            caller.error = exc
            caller.checked_out.set()
            caller.done.set()
            return
        caller.connection = connection
        self.served.append(caller.name)
        caller.checked_out.set()
        try:
            if caller.hold:
                let_go.wait(WAIT)
        finally:
            self.release(connection)
            caller.done.set()

    def run_concurrently(self, callers: int, repeat: int, hold: float) -> list[Outcome]:
        outcomes = [Outcome() for _ in range(callers)]
        barrier = threading.Barrier(callers)

        def work(outcome: Outcome) -> None:
            barrier.wait(WAIT)
            for _ in range(repeat):
                try:
                    connection = self.checkout()
                except Exception as exc:
                    outcome.errors.append(exc)
                    continue
                time.sleep(hold)
                self.release(connection)
                outcome.succeeded += 1

        threads = [
            threading.Thread(target=work, args=(o,), name=f"worker-{n}") for n, o in enumerate(outcomes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 3)
        assert not any(thread.is_alive() for thread in threads), "a caller never finished"
        return outcomes

    def cancel_waiter(
        self, hand_over: Any = None, queue_behind: int = 0
    ) -> tuple[BaseException, list[Caller]]:
        # Only the main thread can be interrupted while it blocks, by a signal whose handler raises:
        # the checkout runs here, and a helper thread sends the signal once the queue is as asked.
        assert threading.current_thread() is threading.main_thread()
        behind: list[Caller] = []
        queued = self.stats()["waiting"]

        def interrupt(signum: int, frame: Any) -> None:
            if hand_over is not None:
                self.release(hand_over)  # hands it to this thread's waiter, first in the queue
            raise WaitCancelled

        def trigger() -> None:
            self.wait_for_waiting(queued + 1)
            for n in range(queue_behind):
                behind.append(self.start_caller(f"behind-{n}"))
                self.wait_for_waiting(queued + 2 + n)
            time.sleep(0.05)  # let the main thread get from queueing into its blocking wait
            signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)  # type: ignore[arg-type]

        previous = signal.signal(signal.SIGUSR1, interrupt)
        helper = threading.Thread(target=trigger, name="contract-canceller", daemon=True)
        helper.start()
        try:
            connection = self.checkout()
        except WaitCancelled as exc:
            return exc, behind
        else:
            self.release(connection)
            raise AssertionError("the waiting checkout was never interrupted")
        finally:
            helper.join(WAIT)
            signal.signal(signal.SIGUSR1, previous)

    def _run_in_child(self, script: ChildScript) -> dict[str, Any]:
        return script(self)

    def close(self) -> None:
        super().close()
        for caller in self.callers:  # a caller still queued gives up after its POOL_TIMEOUT
            caller.done.wait(WAIT)


class AsyncioDriver(Driver):
    name = "asyncio"
    cancelled_error = asyncio.CancelledError

    def __init__(self, server: RedisServer, settings: Any) -> None:
        super().__init__(server, settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="contract-loop", daemon=True)
        self._thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT)

    @staticmethod
    def _pool() -> Any:
        return get_async_redis(ALIAS).connection_pool

    def open_pool(self) -> None:
        async def open_pool() -> None:
            get_async_redis(ALIAS)  # builds the loop's client and pool (a Cluster's: its client)

        self.run(open_pool())

    async def _checkout(self) -> Any:
        return await self._pool().get_connection()

    def checkout(self) -> Any:
        return self.run(self._checkout())

    def release(self, connection: Any) -> None:
        self.release_to(None, connection)

    def current_pool(self) -> Any:
        async def pool() -> Any:
            return self._pool()

        return self.run(pool())

    def release_to(self, pool: Any, connection: Any) -> None:
        async def release() -> None:
            await (pool or self._pool()).release(connection)

        self.run(release())

    def release_then_checkout(self, connection: Any) -> Any:
        async def both() -> Any:
            await self._pool().release(connection)
            return await self._checkout()

        return self.run(both())

    def command(self, *args: Any) -> Any:
        async def command() -> Any:
            return await get_async_redis(ALIAS).execute_command(*args)

        return self.run(command())

    def command_on(self, connection: Any, *args: Any) -> Any:
        async def command() -> Any:
            client = redis.asyncio.Redis(connection_pool=self._pool())
            client.connection = connection  # as a pipeline or a pubsub holds one
            try:
                return await client.execute_command(*args)
            finally:
                client.connection = None  # still the caller's to release
                await client.aclose()

        return self.run(command())

    def stats(self) -> dict[str, Any]:
        async def stats() -> dict[str, Any]:
            # Absent when no asyncio pool of the alias is counted: every key then reads as missing.
            return get_stats(ALIAS).get("async", {})  # type: ignore[no-any-return]

        return self.run(stats())

    def pool_stats(self) -> dict[str, Any]:
        async def stats() -> dict[str, Any]:
            return self._pool().stats()  # type: ignore[no-any-return]

        return self.run(stats())

    def _start(self, caller: Caller) -> None:
        async def start() -> None:
            let_go = asyncio.Event()
            caller.let_go = lambda: self.loop.call_soon_threadsafe(let_go.set)
            self.loop.create_task(self.caller_takes_a_connection(caller, let_go), name=caller.name)

        self.run(start())

    async def caller_takes_a_connection(self, caller: Caller, let_go: asyncio.Event) -> None:
        # The name is the frame a LEAK_WARNING must show, for both drivers.
        pool = self._pool()
        try:
            connection = await pool.get_connection()
        except BaseException as exc:
            caller.error = exc
            caller.checked_out.set()
            caller.done.set()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        caller.connection = connection
        self.served.append(caller.name)
        caller.checked_out.set()
        try:
            if caller.hold:
                await let_go.wait()
        finally:
            await pool.release(connection)
            caller.done.set()

    def run_concurrently(self, callers: int, repeat: int, hold: float) -> list[Outcome]:
        outcomes = [Outcome() for _ in range(callers)]

        async def work(outcome: Outcome) -> None:
            pool = self._pool()
            for _ in range(repeat):
                try:
                    connection = await pool.get_connection()
                except Exception as exc:
                    outcome.errors.append(exc)
                    continue
                await asyncio.sleep(hold)
                await pool.release(connection)
                outcome.succeeded += 1

        async def run_all() -> None:
            await asyncio.gather(*(work(outcome) for outcome in outcomes))

        asyncio.run_coroutine_threadsafe(run_all(), self.loop).result(WAIT * 3)
        return outcomes

    def cancel_waiter(
        self, hand_over: Any = None, queue_behind: int = 0
    ) -> tuple[BaseException, list[Caller]]:
        queued = self.stats()["waiting"]

        async def start() -> asyncio.Task[Any]:
            return self.loop.create_task(self._checkout(), name="contract-cancelled")

        task = self.run(start())
        self.wait_for_waiting(queued + 1)
        behind: list[Caller] = []
        for n in range(queue_behind):
            behind.append(self.start_caller(f"behind-{n}"))
            self.wait_for_waiting(queued + 2 + n)

        async def cancel() -> None:
            if hand_over is not None:
                await self._pool().release(hand_over)  # hands it to the task, first in the queue
            task.cancel()  # before the task has run again

        self.run(cancel())

        async def outcome() -> BaseException | None:
            try:
                connection = await task
            except asyncio.CancelledError as exc:
                return exc
            await self._pool().release(connection)
            return None

        error = self.run(outcome())
        assert error is not None, "the waiting checkout was never cancelled"
        return error, behind

    def _run_in_child(self, script: ChildScript) -> dict[str, Any]:
        # The parent's loop has no thread in the child; a process forked from a running server
        # starts loops of its own, as this does.
        child = AsyncioDriver(self.server, self.settings)
        try:
            return script(child)
        finally:
            child.close()

    def close(self) -> None:
        super().close()

        async def shut_down() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await aclose_pools()
            await self.loop.shutdown_asyncgens()

        try:
            self.run(shut_down())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(WAIT)
            self.loop.close()


DRIVERS: dict[str, type[Driver]] = {"thread": ThreadDriver, "asyncio": AsyncioDriver}
