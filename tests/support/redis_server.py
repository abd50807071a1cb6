"""A throwaway redis-server on a free loopback port and a UNIX socket, for tests and benchmarks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

ADMIN_PASSWORD = "admin-Pa55-not-leaked"
APP_PASSWORD = "app-Pa55-not-leaked"
NOLIST_PASSWORD = "nolist-Pa55-not-leaked"
INSTALL_HINT = (
    "install them with `apt-get install redis-server openssl` (Debian/Ubuntu) or `brew install redis openssl`"
)


def redis_server_binary() -> str | None:
    """The redis-server to start, or None when it (or openssl, for its TLS port) is missing."""
    if shutil.which("openssl") is None:
        return None
    return shutil.which("redis-server")


def free_port() -> int:
    # Cluster bus ports are data port + 10000: stay at or below 55535.
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port <= 55535:
            return port
    raise RuntimeError("no free loopback port at or below 55535")


class RedisServer:
    """``with RedisServer() as server: server.url``; stopped and cleaned up on exit."""

    def __init__(self, extra_config: tuple[str, ...] = ()) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise FileNotFoundError(f"redis-server or openssl is not on PATH: {INSTALL_HINT}")
        self.binary = binary
        self.extra_config = extra_config
        self.port = 0
        self.tls_port = 0
        self.dir = Path(tempfile.mkdtemp(prefix="drp-redis-"))
        self.ca_path = self.dir / "tls.crt"
        self.socket_path = self.dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def url_for(self, user: str, password: str, db: int = 0) -> str:
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/{db}"

    def tls_url(self, db: int = 0) -> str:
        """A rediss:// URL to the TLS port; the certificate is self-signed (pass ``ca_path``)."""
        return f"rediss://127.0.0.1:{self.tls_port}/{db}"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def admin(self) -> redis.Redis:
        """A plain client outside any pool of the app, for assertions."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True)

    def _make_certificate(self) -> None:
        # A self-signed certificate for 127.0.0.1, valid for a day, that is its own CA.
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.dir / "tls.key"),
                "-out",
                str(self.ca_path),
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> RedisServer:
        self._make_certificate()
        for _ in range(5):  # the ports could be taken between probing and binding
            self.port = free_port()
            self.tls_port = free_port()
            config = self.dir / "redis.conf"
            config.write_text(
                "\n".join(
                    [
                        f"port {self.port}",
                        f"tls-port {self.tls_port}",
                        f"tls-cert-file {self.ca_path}",
                        f"tls-key-file {self.dir / 'tls.key'}",
                        f"tls-ca-cert-file {self.ca_path}",
                        "tls-auth-clients no",
                        "bind 127.0.0.1",
                        f"unixsocket {self.socket_path}",
                        "unixsocketperm 700",
                        f"dir {self.dir}",
                        'save ""',
                        "appendonly no",
                        "daemonize no",
                        f"logfile {self.dir / 'redis.log'}",
                        "user default on nopass ~* &* +@all",
                        f"user app on >{APP_PASSWORD} ~* &* +@all",
                        f"user nolist on >{NOLIST_PASSWORD} ~* &* +@all -client|list",
                        *self.extra_config,
                    ]
                )
                + "\n"
            )
            self.process = subprocess.Popen([self.binary, str(config)], stdout=subprocess.DEVNULL)
            if self._wait_ready(timeout=10):
                return self
            self.stop(remove_dir=False)
        log = (self.dir / "redis.log").read_text() if (self.dir / "redis.log").exists() else ""
        raise RuntimeError(f"redis-server did not start: {log[-2000:]}")

    def restart(self) -> None:
        """Start again on the same ports, after ``stop(remove_dir=False)`` (a Redis restart)."""
        self.process = subprocess.Popen(
            [self.binary, str(self.dir / "redis.conf")], stdout=subprocess.DEVNULL
        )
        if not self._wait_ready(timeout=10):
            raise RuntimeError(f"redis-server did not restart on port {self.port}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def stop(self, remove_dir: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if remove_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
