"""A loopback TCP proxy that fails on demand, for the "when Redis fails" tests and benchmarks.

::

    with FaultProxy(("127.0.0.1", server_port)) as proxy:
        url = proxy.url(db=0)    # point an alias at the proxy
        proxy.black_hole()       # accept, never answer
        proxy.stall()            # like SIGSTOP: nothing read, nothing answered, connects queue up
        proxy.refuse()           # like a stopped server: connects refused, open flows reset
        proxy.pass_through()     # healthy again (refused: listens again on the same port)
        proxy.drop_idle_after(600)               # a middlebox forgetting idle flows, silently
        proxy.switch_upstream(("127.0.0.1", other_port))  # new flows go to another server

Each accepted connection is a *flow* served by a thread of its own; ``accepted`` counts connections
accepted since the start (a client's connection attempts). A flow that was black-holed or dropped
stays dead (its stream is out of step); new flows follow the current mode.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from typing import Any

PASS, REFUSE, BLACK_HOLE, STALL = "pass", "refuse", "black hole", "stall"
_TICK = 0.02  # how soon a flow or the acceptor notices a new mode


class _Flow:
    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client, self.upstream = client, upstream
        self.dead = upstream is None  # black-holed: read and discard, never answer
        self.closed = False
        self.last_activity = time.monotonic()

    def close(self, reset: bool = False) -> None:
        self.closed = True
        if reset:  # SO_LINGER 0: the client sees a RST, as from a restarted server
            with contextlib.suppress(OSError):
                self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


class FaultProxy:
    """Forwards 127.0.0.1:<port> to ``upstream`` until told to fail; a context manager."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.port = 0
        self.mode = PASS
        self.accepted = 0
        self.idle_limit: float | None = None
        self.idle_reset = False
        self._flows: list[_Flow] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)
        self._close_listener()
        self._close_flows(reset=False)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    @property
    def open_flows(self) -> int:
        with self._lock:
            return sum(1 for flow in self._flows if not flow.closed)

    # -- faults ------------------------------------------------------------------------------

    def pass_through(self) -> None:
        """Forward again; a refusing proxy listens again on the same port."""
        if self._listener is None:
            self._listen()
        self.mode = PASS

    def refuse(self, reset_flows: bool = True) -> None:
        """Refuse new connections (the port is closed); open flows are reset unless told otherwise."""
        self.mode = REFUSE
        self._close_listener()
        if reset_flows:
            self._close_flows(reset=True)

    def black_hole(self) -> None:
        """Accept connections and read what clients send; never answer or forward, open flows too."""
        self.mode = BLACK_HOLE
        with self._lock:
            for flow in self._flows:
                flow.dead = True

    def stall(self) -> None:
        """Read nothing, answer nothing, accept nothing (connects wait in the backlog): a SIGSTOPped
        server. :meth:`pass_through` resumes every flow where it stopped."""
        self.mode = STALL

    def drop_idle_after(self, seconds: float | None, reset: bool = False) -> None:
        """Forget flows idle for ``seconds``: silently (later packets go nowhere), or with a RST."""
        self.idle_limit, self.idle_reset = seconds, reset

    def switch_upstream(self, upstream: tuple[str, int], reset_flows: bool = False) -> None:
        """New flows go to ``upstream``; open flows stay with the old server unless reset."""
        self.upstream = upstream
        if reset_flows:
            self._close_flows(reset=True)

    # -- machinery ---------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        listener.settimeout(_TICK)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # stops listening now, even under a pending accept()
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _close_flows(self, reset: bool) -> None:
        with self._lock:
            flows, self._flows = self._flows, []
        for flow in flows:
            flow.close(reset=reset)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None or self.mode == STALL:
                time.sleep(_TICK)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == REFUSE:  # accepted just before the port closed
                _Flow(client, None).close(reset=True)
                continue
            self.accepted += 1
            self._start_flow(client)

    def _start_flow(self, client: socket.socket) -> None:
        upstream = None
        if self.mode != BLACK_HOLE:
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                return
        flow = _Flow(client, upstream)
        with self._lock:
            self._flows.append(flow)
        threading.Thread(target=self._pump, args=(flow,), name="fault-proxy-flow", daemon=True).start()

    def _pump(self, flow: _Flow) -> None:
        while not flow.closed and not self._stopped.is_set():
            if self.mode == STALL and not flow.dead:
                time.sleep(_TICK)
                continue
            if self._idle_too_long(flow):
                continue
            sockets = [s for s in (flow.client, flow.upstream) if s is not None]
            try:
                readable, _, _ = select.select(sockets, [], [], _TICK)
                for sock in readable:
                    self._forward(flow, sock)
            except OSError:
                flow.close()

    def _idle_too_long(self, flow: _Flow) -> bool:
        limit = self.idle_limit
        if limit is None or flow.dead or time.monotonic() - flow.last_activity < limit:
            return False
        if self.idle_reset:
            flow.close(reset=True)
        else:  # the middlebox forgets the flow: the server's side closes, the client hears nothing
            flow.dead = True
            if flow.upstream is not None:
                flow.upstream.close()
                flow.upstream = None
        return True

    def _forward(self, flow: _Flow, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            flow.close()
            return
        flow.last_activity = time.monotonic()
        if flow.dead:
            return
        other: Any = flow.upstream if sock is flow.client else flow.client
        other.sendall(data)
