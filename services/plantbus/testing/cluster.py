"""A real 3-node JetStream cluster on loopback: three nats-server processes joined by
routes, each with its own store directory and free ports, for tests and benchmarks that
kill a node (``nats_cluster`` in :mod:`plantbus.testing.pytest_plugin`).

Start and restart nodes from the thread that keeps running (not ``asyncio.to_thread``):
a server gets SIGKILL when the thread that started it ends
(:func:`plantbus.kit.process.die_with_parent`)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nats.errors

from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.net import free_port
from plantbus.sdk.errors import ConfigError

__all__ = ["NatsCluster", "Node", "log_tail"]

TAIL_LINES = 40
"""Lines of each log shown when a test fails."""


def log_tail(title: str, log: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` of ``log`` under a heading naming ``title`` and the file."""
    text = log.read_text(errors="replace") if log.exists() else "(no log)\n"
    return f"----- {title}: {log}\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Node:
    """One server of the cluster: its name in JetStream's cluster info and its process."""

    name: str
    server: NatsServer
    monitor_port: int

    @property
    def log(self) -> Path:
        """The server's log file (:class:`NatsServer` writes it in its store directory)."""
        return self.server.store_dir / "nats-server.log"

    def healthy(self) -> bool:
        """True when the server answers ``/healthz`` with 200: it runs, and its JetStream
        is in contact with a meta leader and current with it."""
        url = f"http://{self.server.host}:{self.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False


@dataclass
class NatsCluster:
    """``size`` clustered nats-servers with JetStream; start() waits for a meta leader."""

    nodes: list[Node]
    name: str = "plantbus"

    @classmethod
    def in_dir(cls, root: Path, size: int = 3, name: str = "plantbus") -> NatsCluster:
        """The cluster's servers (not started), each under ``root/<node name>``."""
        routes = [free_port() for _ in range(size)]
        seeds = ",".join(f"nats://127.0.0.1:{port}" for port in routes)
        nodes = []
        for i, route in enumerate(routes, 1):
            node, monitor = f"{name}-{i}", free_port()
            args = ["-n", node, "--cluster_name", name, "--cluster", f"nats://127.0.0.1:{route}"]
            args += ["--routes", seeds, "-m", str(monitor)]
            nodes.append(Node(node, NatsServer(store_dir=root / node, extra_args=args), monitor))
        return cls(nodes, name)

    @property
    def urls(self) -> str:
        """Every node's client URL, comma-separated (``--nats-url``, NatsSettings.url)."""
        return ",".join(node.server.url for node in self.nodes)

    def settings(self, name: str = "pytest") -> NatsSettings:
        """A client of every node, creating streams and buckets with one replica per node."""
        return NatsSettings(url=self.urls, name=name, js_replicas=len(self.nodes))

    def start(self, timeout: float = 30.0) -> NatsCluster:
        """Start every node and wait until all are healthy (a meta leader is elected)."""
        try:
            for node in self.nodes:
                node.server.start()
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until every node answers ``/healthz``; raise ConfigError naming the others."""
        deadline = time.monotonic() + timeout
        while not all(node.healthy() for node in self.nodes):
            if time.monotonic() > deadline:
                sick = [node.name for node in self.nodes if not node.healthy()]
                raise ConfigError(f"NATS cluster nodes {sick} not healthy within {timeout:.0f}s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every node (safe to call twice)."""
        for node in self.nodes:
            node.server.stop()

    def log_tails(self) -> str:
        """Every node's log tail (``nats_cluster`` adds it to a failed test's report)."""
        return "\n".join(log_tail(node.name, node.log) for node in self.nodes)

    def node(self, name: str) -> Node:
        """The node JetStream calls ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name} in cluster {self.name}: {[n.name for n in self.nodes]}")

    async def leader(self, bus: Bus, stream: str, timeout: float = 5.0) -> Node:
        """The node that leads ``stream`` (its RAFT group's leader, from the stream info)."""
        info = await bus.nc.jetstream(timeout=timeout).stream_info(stream)
        if info.cluster is None or not info.cluster.leader:
            raise AssertionError(f"stream {stream} has no cluster leader: {info.cluster}")
        return self.node(info.cluster.leader)

    async def caught_up(self, bus: Bus, streams: Sequence[str]) -> bool:
        """True when each of ``streams`` has a leader and every other replica is current
        (a node brought back has caught up), so the next kill leaves a quorum."""
        for stream in streams:
            try:
                cluster = (await bus.js.stream_info(stream)).cluster
            except (TimeoutError, nats.errors.Error):
                return False
            peers = (cluster.replicas or []) if cluster else []
            if not (cluster and cluster.leader and len(peers) == len(self.nodes) - 1):
                return False
            if not all(peer.current and not peer.offline for peer in peers):
                return False
        return True
