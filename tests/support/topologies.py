"""Throwaway Redis Cluster and Sentinel topologies on free loopback ports, for tests and measurements.

``with RedisClusterTopology() as cluster:`` gives three masters sharing the 16384 slots;
``with SentinelTopology() as topology:`` gives one master, one replica and three sentinels. Both run
the same ``redis-server`` binary as tests/support/redis_server.py, keep everything in their own temp dir, and
are stopped and cleaned up on exit. ``python -m tests.support.topologies`` measures their start-up and the
failover times.

Admin commands are sent as separate words (``"CLUSTER", "INFO"``) so redis-py applies no response
callback and every supported version returns the server's raw reply.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import redis

from tests.support.redis_server import INSTALL_HINT, free_port

HOST = "127.0.0.1"
CLUSTER_SLOTS = 16384
BUS_PORT_OFFSET = 10000
T = TypeVar("T")


def missing_binaries(*names: str) -> list[str]:
    """Which of ``names`` (e.g. redis-server, redis-cli) are not on PATH."""
    return [name for name in names if shutil.which(name) is None]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, cluster_bus: bool = False) -> list[int]:
    """``count`` distinct free loopback ports; with ``cluster_bus``, port + 10000 is free as well."""
    ports: list[int] = []
    for _ in range(100 * count):
        port = free_port()
        if port in ports or (cluster_bus and not _port_is_free(port + BUS_PORT_OFFSET)):
            continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"found only {len(ports)} of {count} free loopback ports")


def wait_until(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something other than None/False; errors count as not yet."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = condition()
        except (redis.RedisError, OSError) as error:
            result, last_error = None, error
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(interval)


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def reply_dict(reply: Iterable[Any]) -> dict[str, Any]:
    """A map reply (RESP3) or a flat [key, value, key, value, ...] one (RESP2) as a dict."""
    if isinstance(reply, dict):
        return {text(key): text(value) for key, value in reply.items()}
    items = [text(item) for item in reply]
    return dict(zip(items[::2], items[1::2], strict=True))


def info_fields(raw: str) -> dict[str, str]:
    """``CLUSTER INFO``-style ``key:value`` lines as a dict."""
    return dict(line.split(":", 1) for line in text(raw).splitlines() if ":" in line)


class _Processes:
    """redis-server processes sharing one temp dir; on exit they are stopped and the dir removed."""

    prefix = "drp-topology-"

    def __init__(self) -> None:
        if missing_binaries("redis-server"):
            raise FileNotFoundError(f"redis-server is not on PATH: {INSTALL_HINT}")
        self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self._admins: dict[int, redis.Redis] = {}
        self.startup_seconds = 0.0

    def admin(self, port: int) -> redis.Redis:
        """A plain client (str replies) to one process, outside any pool of the app; closed on stop."""
        if port not in self._admins:
            self._admins[port] = redis.Redis(
                host=HOST, port=port, socket_timeout=5, socket_connect_timeout=2, decode_responses=True
            )
        return self._admins[port]

    def _spawn(self, name: str, port: int, config: list[str], *args: str) -> None:
        node_dir = self.dir / name
        node_dir.mkdir(exist_ok=True)
        path = node_dir / f"{name}.conf"
        common = [
            f"port {port}",
            f"bind {HOST}",
            f"dir {node_dir}",
            f"logfile {node_dir / 'redis.log'}",
            "daemonize no",
        ]
        path.write_text("\n".join([*common, *config]) + "\n")
        with open(node_dir / "stdout.log", "wb") as out:
            self.processes[port] = subprocess.Popen(
                ["redis-server", str(path), *args], stdout=out, stderr=subprocess.STDOUT, cwd=node_dir
            )

    def _wait_pings(self, ports: Iterable[int], timeout: float = 10.0) -> None:
        for port in ports:
            process = self.processes[port]

            def answers(port: int = port, process: subprocess.Popen[bytes] = process) -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {port} exited: {self.logs()}")
                return bool(self.admin(port).ping())

            wait_until(answers, timeout, f"redis-server on port {port} to answer PING")

    def alive(self) -> bool:
        return bool(self.processes) and all(p.poll() is None for p in self.processes.values())

    def logs(self, tail: int = 1500) -> str:
        parts = []
        for path in sorted(self.dir.glob("*/*.log")):
            content = path.read_text(errors="replace")[-tail:]
            if content.strip():
                parts.append(f"--- {path.relative_to(self.dir)}\n{content}")
        return "\n".join(parts)

    def kill(self, port: int) -> float:
        """SIGKILL the process on ``port``; returns time.monotonic() at the kill."""
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        process.wait(timeout=10)
        return killed_at

    def _stop_processes(self) -> None:
        for client in self._admins.values():
            client.close()
        self._admins.clear()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    def stop(self) -> None:
        self._stop_processes()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _start_with_retries(self, attempt: Callable[[], None], what: str) -> None:
        """Run ``attempt``; a port taken between probing and binding gets fresh ports (3 tries)."""
        started = time.monotonic()
        error: Exception | None = None
        for _ in range(3):
            try:
                attempt()
            except (RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
                error = exc
                self._stop_processes()
                for child in self.dir.iterdir():
                    shutil.rmtree(child, ignore_errors=True)
                continue
            self.startup_seconds = time.monotonic() - started
            return
        self.stop()
        raise RuntimeError(f"{what} did not start: {error}")


class RedisClusterTopology(_Processes):
    """``with RedisClusterTopology() as cluster:`` three masters sharing all 16384 slots; with
    ``replicas=1``, each master gets one replica (``master_ports``, ``replica_ports``; ``ports`` is all)."""

    prefix = "drp-cluster-"

    def __init__(self, masters: int = 3, node_timeout_ms: int = 2000, replicas: int = 0) -> None:
        if missing_binaries("redis-server", "redis-cli"):
            raise FileNotFoundError(f"redis-server or redis-cli is not on PATH: {INSTALL_HINT}")
        super().__init__()
        if masters < 3:
            raise ValueError("redis-cli --cluster create needs at least 3 masters")
        self.masters = masters
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports: list[int] = []
        self.master_ports: list[int] = []
        self.replica_ports: list[int] = []

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.ports[0]}/0"

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(HOST, port) for port in self.ports]

    def start(self) -> RedisClusterTopology:
        self._start_with_retries(self._start_once, "the Redis Cluster")
        return self

    def _start_once(self) -> None:
        self.ports = free_ports(self.masters * (1 + self.replicas), cluster_bus=True)
        for port in self.ports:
            self._spawn(
                f"node-{port}",
                port,
                [
                    "cluster-enabled yes",
                    f"cluster-config-file nodes-{port}.conf",
                    f"cluster-node-timeout {self.node_timeout_ms}",
                    'save ""',
                    "appendonly no",
                    # Redis 7 syncs replicas diskless after a 5 s delay by default: start the sync at once.
                    "repl-diskless-sync yes",
                    "repl-diskless-sync-delay 0",
                    # CLUSTER SLOTS lists a replica only once its replication offset is above 0, which
                    # an idle master moves on its pings to replicas (every 10 s by default).
                    "repl-ping-replica-period 1",
                ],
            )
        self._wait_pings(self.ports)
        created = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"{HOST}:{port}" for port in self.ports),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]!r}")
        wait_until(self._every_node_ok, 20, "cluster_state:ok with all slots and every replica on every node")
        # redis-cli picks which nodes become replicas: ask the cluster.
        roles = {port: self.admin(port).execute_command("ROLE")[0] for port in self.ports}
        self.master_ports = [port for port in self.ports if text(roles[port]) == "master"]
        self.replica_ports = [port for port in self.ports if text(roles[port]) == "slave"]

    def _every_node_ok(self) -> bool:
        for port in self.ports:
            admin = self.admin(port)
            info = info_fields(admin.execute_command("CLUSTER", "INFO"))
            if (
                info.get("cluster_state") != "ok"
                or info.get("cluster_slots_assigned") != str(CLUSTER_SLOTS)
                or info.get("cluster_known_nodes") != str(len(self.ports))
            ):
                return False
            # Every slot range lists its master and all its replicas (what redis-py reads), and each
            # replica has finished its first sync.
            slots = admin.execute_command("CLUSTER", "SLOTS")
            if any(len(entry[2:]) != 1 + self.replicas for entry in slots):
                return False
            replication = admin.info("replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def node_id(self, port: int) -> str:
        return str(self.admin(port).execute_command("CLUSTER", "MYID"))

    def slot_owners(self, port: int | None = None) -> dict[tuple[int, int], int]:
        """{(first slot, last slot): owner's port}, as the node on ``port`` (default: the first) sees it."""
        reply = self.admin(self.ports[0] if port is None else port).execute_command("CLUSTER", "SLOTS")
        return {(int(entry[0]), int(entry[1])): int(entry[2][1]) for entry in reply}

    def owner_of(self, slot: int, port: int | None = None) -> int:
        """The port of the master serving ``slot``, as the node on ``port`` sees it."""
        for (first, last), owner in self.slot_owners(port).items():
            if first <= slot <= last:
                return owner
        raise LookupError(f"slot {slot} is not assigned")

    @staticmethod
    def key_slot(key: str) -> int:
        from redis.crc import key_slot

        return int(key_slot(key.encode()))

    def migrate_slot(self, slot: int, to_port: int, batch: int = 100) -> int:
        """Move ``slot`` and its keys to the master on ``to_port``; returns the port that owned it.

        The steps of a live resharding: IMPORTING on the target, MIGRATING on the source, MIGRATE the
        keys in batches, then SETSLOT NODE on every master (target first), so the old owner answers
        MOVED for the slot's keys from then on.
        """
        from_port = self.owner_of(slot)
        if from_port == to_port:
            return from_port
        source, target = self.admin(from_port), self.admin(to_port)
        source_id, target_id = self.node_id(from_port), self.node_id(to_port)
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        for _ in range(1_000_000 // batch):
            keys = source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            source.execute_command("MIGRATE", HOST, to_port, "", 0, 5000, "KEYS", *keys)
        else:
            raise RuntimeError(f"slot {slot} still has keys on port {from_port}")
        masters = self.master_ports
        ordered = [to_port, from_port, *(p for p in masters if p not in (to_port, from_port))]
        for port in ordered:
            self.admin(port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        wait_until(
            lambda: all(self.owner_of(slot, port) == to_port for port in masters),
            10,
            f"every node to see slot {slot} on port {to_port}",
        )
        return from_port

    def flushall(self) -> None:
        for port in self.master_ports:  # a replica refuses writes; it follows its master
            self.admin(port).flushall()

    def __enter__(self) -> RedisClusterTopology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SentinelTopology(_Processes):
    """``with SentinelTopology() as topology:`` one master, one replica and three sentinels.

    ``min_replicas_to_write`` (with ``min_replicas_max_lag`` seconds) goes into both data nodes'
    configuration, so whichever is master refuses writes without that many replicas in sync.
    """

    prefix = "drp-sentinel-"

    def __init__(
        self,
        service_name: str = "mymaster",
        *,
        sentinels: int = 3,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 5000,
        min_replicas_to_write: int = 0,
        min_replicas_max_lag: int = 10,
    ) -> None:
        super().__init__()
        self.service_name = service_name
        self.sentinel_count = sentinels
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.min_replicas_to_write = min_replicas_to_write
        self.min_replicas_max_lag = min_replicas_max_lag
        self.data_ports: list[int] = []
        self.sentinel_ports: list[int] = []
        self.initial_master: tuple[str, int] = ("", 0)
        # Set by failover() and kill_master(); tests that change the topology otherwise set it too.
        self.disturbed = False

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [(HOST, port) for port in self.sentinel_ports]

    def start(self) -> SentinelTopology:
        self._start_with_retries(self._start_once, "the Sentinel topology")
        return self

    def _data_config(self) -> list[str]:
        config = [
            'save ""',
            "appendonly no",
            # Redis 7 syncs replicas diskless after a 5 s delay by default: start the sync at once.
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
        ]
        if self.min_replicas_to_write:
            config += [
                f"min-replicas-to-write {self.min_replicas_to_write}",
                f"min-replicas-max-lag {self.min_replicas_max_lag}",
            ]
        return config

    def _start_once(self) -> None:
        master, replica, *sentinels = free_ports(2 + self.sentinel_count)
        self.data_ports, self.sentinel_ports = [master, replica], sentinels
        self.initial_master = (HOST, master)
        self._spawn(f"data-{master}", master, self._data_config())
        self._spawn(f"data-{replica}", replica, [*self._data_config(), f"replicaof {HOST} {master}"])
        self._wait_pings(self.data_ports)
        # Sentinels find replicas in the master's INFO (read at once, then every 10 s): start them only
        # once the master lists the replica online, or they would not know it for 10 s.
        wait_until(lambda: self._replica_in_sync(master, replica), 10, "the replica to sync")
        for port in sentinels:
            self._spawn(
                f"sentinel-{port}",
                port,
                [
                    "sentinel resolve-hostnames no",
                    f"sentinel monitor {self.service_name} {HOST} {master} {self.quorum}",
                    f"sentinel down-after-milliseconds {self.service_name} {self.down_after_ms}",
                    f"sentinel failover-timeout {self.service_name} {self.failover_timeout_ms}",
                    f"sentinel parallel-syncs {self.service_name} 1",
                ],
                "--sentinel",
            )
        self._wait_pings(sentinels)
        wait_until(self._sentinels_ready, 20, "every sentinel to know the master, 1 replica and the others")

    def _replica_in_sync(self, master: int, replica: int) -> bool:
        if self.admin(replica).info("replication").get("master_link_status") != "up":
            return False
        listed = self.admin(master).info("replication").get("slave0")
        return isinstance(listed, dict) and listed.get("state") == "online"

    def _sentinel(self, port: int, *args: Any) -> Any:
        return self.admin(port).execute_command("SENTINEL", *args)

    def _sentinels_ready(self) -> bool:
        """Every sentinel sees a healthy master, its one replica with link up, and the other sentinels."""
        for port in self.sentinel_ports:
            state = reply_dict(self._sentinel(port, "MASTER", self.service_name))
            if (
                state["flags"] != "master"
                or int(state["num-slaves"]) != len(self.data_ports) - 1
                or int(state["num-other-sentinels"]) != self.sentinel_count - 1
            ):
                return False
            for replica in self._sentinel(port, "REPLICAS", self.service_name):
                fields = reply_dict(replica)
                if fields["flags"] != "slave" or fields.get("master-link-status") != "ok":
                    return False
        return True

    def ready(self) -> bool:
        """True when SENTINEL FAILOVER (or a kill) can promote the replica right away."""
        try:
            return self.alive() and self._sentinels_ready()
        except (redis.RedisError, OSError, KeyError):
            return False

    def pristine(self) -> bool:
        """Not failed over or killed, every process up, and the sentinels still report the first master."""
        if self.disturbed or not self.alive():
            return False
        try:
            return self.master_address() == self.initial_master
        except (redis.RedisError, OSError):
            return False

    def master_address(self, sentinel_port: int | None = None) -> tuple[str, int]:
        """The master's address as one sentinel (default: the first) reports it."""
        port = self.sentinel_ports[0] if sentinel_port is None else sentinel_port
        host, master_port = self._sentinel(port, "GET-MASTER-ADDR-BY-NAME", self.service_name)
        return str(host), int(master_port)

    def master_port(self) -> int:
        return self.master_address()[1]

    def _agreed_new_master(self, old: tuple[str, int]) -> tuple[str, int] | None:
        """The new master when every live sentinel reports the same one, other than ``old``, and it
        says role:master; otherwise None."""
        reported = set()
        for port in self.sentinel_ports:
            if self.processes[port].poll() is None:
                reported.add(self.master_address(port))
        if len(reported) != 1:
            return None
        (new,) = reported
        if new == old or self.admin(new[1]).info("replication").get("role") != "master":
            return None
        return new

    def wait_for_master_change(self, old: tuple[str, int], timeout: float = 30.0) -> tuple[str, int]:
        """Wait until every sentinel reports a master other than ``old`` that reports role:master."""
        return wait_until(
            lambda: self._agreed_new_master(old), timeout, f"the sentinels to replace master {old}"
        )

    def failover(self, timeout: float = 30.0) -> tuple[str, int]:
        """SENTINEL FAILOVER on one sentinel; returns the new master once every sentinel reports it."""
        old = self.master_address()
        self.disturbed = True
        self._sentinel(self.sentinel_ports[0], "FAILOVER", self.service_name)
        return self.wait_for_master_change(old, timeout)

    def kill_master(self) -> float:
        """SIGKILL the current master's process; returns time.monotonic() at the kill."""
        self.disturbed = True
        return self.kill(self.master_port())

    def is_replica(self, port: int) -> bool:
        """The data node on ``port`` reports role:slave (a demoted master does once sentinels convert it)."""
        return self.admin(port).info("replication").get("role") == "slave"

    def replica_ports(self) -> list[int]:
        """Data nodes other than the current master (some may be dead after kill_master)."""
        master = self.master_port()
        return [port for port in self.data_ports if port != master]

    def __enter__(self) -> SentinelTopology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _measure(runs: int) -> None:
    """Start-up and failover times, one fresh topology per run."""

    def show(name: str, values: list[float]) -> None:
        listed = ", ".join(f"{value:.2f}" for value in values)
        print(f"{name:<48} {listed}  (median {sorted(values)[len(values) // 2]:.2f} s)", flush=True)

    cluster_start = []
    for _ in range(runs):
        with RedisClusterTopology() as cluster:
            cluster_start.append(cluster.startup_seconds)
    show("cluster start-up", cluster_start)

    starts, graceful, demoted, killed = [], [], [], []
    for _ in range(runs):
        with SentinelTopology() as topology:
            starts.append(topology.startup_seconds)
            old = topology.master_address()
            began = time.monotonic()
            topology.failover()
            graceful.append(time.monotonic() - began)
            # Until the sentinels turn the old master into a replica, it still accepts writes.
            demoted_port = functools.partial(topology.is_replica, old[1])
            wait_until(demoted_port, 60, "the old master to be demoted")
            demoted.append(time.monotonic() - began)
        with SentinelTopology() as topology:
            starts.append(topology.startup_seconds)
            old = topology.master_address()
            killed_at = topology.kill_master()
            topology.wait_for_master_change(old, 60)
            killed.append(time.monotonic() - killed_at)
    show("sentinel topology start-up", starts)
    show("SENTINEL FAILOVER -> new master reported", graceful)
    show("SENTINEL FAILOVER -> old master is a replica", demoted)
    show("SIGKILL master -> new master reported", killed)


if __name__ == "__main__":
    _measure(int(os.environ.get("RUNS", "3")))
