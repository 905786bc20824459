"""Replicas of a service as real processes (``plantbus run <service>``) against one NATS,
for fault tests and the failover bench: start, SIGKILL, SIGSTOP and SIGCONT them, see which
one holds a scope's lease (:mod:`plantbus.kit.lease`) and how long a scope takes to move.

The plant they run is :func:`plantbus.testing.replica_plant.plant`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats.errors
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.testing.cluster import log_tail
from plantbus.testing.replica_plant import Plant
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2

__all__ = ["Replica", "Replicas", "replicas"]


@dataclass
class Replica:
    """One ``plantbus run`` process."""

    instance: str
    proc: subprocess.Popen[bytes]
    log: Path

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` (SIGKILL, SIGSTOP, SIGCONT)."""
        self.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)

    def log_text(self) -> str:
        """What the process logged so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Replicas:
    """Replicas of ``service`` on NATS ``nats_url``, each with a data dir under ``root``;
    config is checked with ``pubkey`` (governance's test key) when given."""

    service: str
    nats_url: str
    root: Path
    pubkey: Path | None = None
    lease_ttl_s: float = 3.0
    options: dict[str, str] = field(default_factory=dict)
    running: dict[str, Replica] = field(default_factory=dict)

    def start(self, instance: str) -> Replica:
        """Start a replica named ``instance`` (plaintext gRPC on a free port)."""
        data = self.root / instance
        data.mkdir(parents=True, exist_ok=True)
        log = data / f"{self.service}.log"
        options = {"lease_ttl_s": str(self.lease_ttl_s), **self.options}
        command = [
            sys.executable,
            "-m",
            "plantbus.cli",
            "run",
            self.service,
            "--instance",
            instance,
            "--nats-url",
            self.nats_url,
            "--data-dir",
            str(data),
            "--grpc-port",
            "0",
            "--insecure",
            "--heartbeat-interval",
            "0.5",
            *(a for k, v in options.items() for a in ("--option", f"{self.service}.{k}={v}")),
        ]
        env = {**os.environ, "PLANTBUS_LOG_LEVEL": "INFO"}
        if self.pubkey is not None:
            env["PLANTBUS_CONFIG_PUBKEY"] = str(self.pubkey)
        with log.open("ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        replica = Replica(instance, proc, log)
        self.running[instance] = replica
        return replica

    def close(self) -> None:
        """Stop every replica still running (SIGCONT first, for a paused one)."""
        for replica in self.running.values():
            if replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGCONT)
                replica.proc.terminate()
        for replica in self.running.values():
            try:
                replica.proc.wait(20)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.proc.wait(10)

    def log_tails(self) -> str:
        """The log tail of every replica ever started here, killed ones included."""
        logs = sorted(self.root.glob(f"*/{self.service}.log"))
        return "\n".join(log_tail(f"{self.service} replica {log.parent.name}", log) for log in logs)

    async def serving(self, bus: Bus) -> set[str]:
        """Instances of ``service`` whose heartbeat says serving (they run their share)."""
        try:
            beats = await read_heartbeats(bus)
        except nats.errors.Error:  # the cluster slow under the test's load: none seen now
            return set()
        return {
            hb.instance
            for hb in beats
            if hb.service == self.service and hb.health == service_pb2.HEALTH_SERVING
        }

    async def holder(self, kv: KeyValue, scope: str) -> str:
        """The instance whose process holds ``scope``'s lease ('' when none does)."""
        key = f"{self.service}.{scope.replace('/', '.')}"
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, TimeoutError, nats.errors.Error):  # never taken, or NATS slow
            return ""
        holder = str(json.loads(entry.value or b"{}").get("holder", ""))
        return holder.rsplit("-", 1)[0]

    @staticmethod
    async def leases(bus: Bus) -> KeyValue:
        """The lease bucket."""
        return await streams.open_bucket(bus, streams.LEASES)

    async def ready(self, bus: Bus, scopes: tuple[str, ...], timeout: float = 60) -> None:
        """Wait until every running replica serves and every one of ``scopes`` is held."""
        kv = await self.leases(bus)

        async def all_ready() -> bool:
            held = [await self.holder(kv, s) for s in scopes]
            return await self.serving(bus) == set(self.running) and all(held)

        ok: bool = await wait_until(
            all_ready, timeout=timeout, interval=0.2, message=f"{self.service} ready"
        )
        assert ok

    async def fail_over(
        self,
        bus: Bus,
        seen: Plant,
        scope: str,
        subject: str,
        then: Callable[[], None] = lambda: None,
    ) -> float:
        """SIGKILL the holder of ``scope`` and call ``then``; seconds until the first message
        on ``subject`` after the kill (the killed replica cannot have sent it), once another
        replica holds the scope."""
        kv = await self.leases(bus)
        victim = await self.holder(kv, scope)
        killed = time.monotonic()
        self.running.pop(victim).signal(signal.SIGKILL)
        then()
        await wait_until(
            lambda: seen.after(killed, subject), timeout=30, interval=0.05, message=subject
        )
        took = seen.after(killed, subject)[0][0] - killed
        assert await self.holder(kv, scope) in self.running, f"{scope} not taken over"
        return took


@contextlib.contextmanager
def replicas(
    service: str, nats_url: str, root: Path, pubkey: Path | None = None, **kwargs: object
) -> Iterator[Replicas]:
    """:class:`Replicas`, every one stopped at the end; when the body fails, their log
    tails are printed once they stopped (pytest shows a failed test's output)."""
    group = Replicas(service, nats_url, root, pubkey, **kwargs)  # type: ignore[arg-type]
    try:
        yield group
    except BaseException:
        group.close()
        print(group.log_tails())
        raise
    group.close()
