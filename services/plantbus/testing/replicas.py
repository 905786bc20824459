"""Replicas of a service as real processes (``plantbus run <service>``) against one NATS,
for fault tests and the failover bench: start, SIGKILL, SIGSTOP and SIGCONT them, see which
one holds a scope's lease (:mod:`plantbus.kit.lease`) and how long a scope takes to move.

The plant they run (:func:`plant`): two lines of one machine each, fed by in-process memory
devices whose counters the caller drives (the "simulator"), with governance and the device
service in the caller's process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.js.kv import KeyValue

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.signing import PUBLIC_KEY_FILE
from plantbus.testing.harness import hosted
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2

__all__ = ["LINES", "MACHINES", "Plant", "Replica", "Replicas", "plant", "replicas"]


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

    async def serving(self, bus: Bus) -> set[str]:
        """Instances of ``service`` whose heartbeat says serving (they run their share)."""
        return {
            hb.instance
            for hb in await read_heartbeats(bus)
            if hb.service == self.service and hb.health == service_pb2.HEALTH_SERVING
        }

    async def holder(self, kv: KeyValue, scope: str) -> str:
        """The instance whose process holds ``scope``'s lease ('' when none does)."""
        key = f"{self.service}.{scope.replace('/', '.')}"
        try:
            entry = await kv.get(key)
        except Exception:  # noqa: BLE001 - deleted, never taken, or NATS slow
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


LINES = ("s/a/l1", "s/a/l2")
MACHINES = tuple(f"{line}/m1" for line in LINES)
BASELINE = 1
PLANT = """\
sites:
  - name: s
    areas:
      - name: a
        lines:
          - {name: l1, machines: [{name: m1}]}
          - {name: l2, machines: [{name: m1}]}
"""
DEVICE = """\
  - name: plc{n}
    driver: memory
    endpoint: memory://replicas-{key}-{n}
    machine: {machine}
    poll_interval_s: 0.1
    tags:
      - {{name: state, address: state, data_type: uint16}}
      - {{name: parts, address: parts, data_type: uint32}}
      - {{name: temp, address: temp, data_type: float32}}
"""
OEE = """\
  - machine: {machine}
    state_tag: state
    total_tag: parts
    states: [{{value: 1, state: running}}, {{value: 3, state: stopped}}]
"""
RULE = """\
  - {{name: hot, kind: high, machine: {machine}, tag: temp, limit: 70, priority: high}}
"""


@dataclass
class Plant:
    """The driven devices and what was published."""

    bus: Bus
    key: str
    devices: list[MemoryDevice]
    pubkey: Path
    seen: list[tuple[float, str, Message]] = field(default_factory=list)
    """(monotonic time, subject, message) of everything published on the watched subjects."""
    _producing: asyncio.Task[None] | None = None

    def toggle_temperature(self, period_s: float) -> asyncio.Task[None]:
        """Both machines' temperature alternates between 20 and 80 degC every ``period_s``
        (the ``hot`` alarms come and go); cancel the task to stop."""

        async def toggle() -> None:
            while True:
                for device in self.devices:
                    device.values["temp"] = 80.0 if float(device.values["temp"]) < 70 else 20.0
                await asyncio.sleep(period_s)

        return asyncio.create_task(toggle())

    async def start_production(self, period_s: float = 0.1) -> None:
        """Both machines run and make a part every ``period_s``, counted from 1: the
        counters first move to 1 (the baseline the OEE service sees first, as the device
        reports changes only), then count on."""
        for device in self.devices:
            device.values["parts"] = BASELINE
        await asyncio.sleep(1.0)

        async def produce() -> None:
            while True:
                for device in self.devices:
                    device.values["parts"] = int(device.values["parts"]) + 1
                await asyncio.sleep(period_s)

        for device in self.devices:
            device.values["state"] = 1
        self._producing = asyncio.create_task(produce())

    async def stop_production(self) -> list[int]:
        """Stop making parts; the parts each machine made since the baseline."""
        if self._producing is not None:
            self._producing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producing
        return [int(d.values["parts"]) - BASELINE for d in self.devices]

    def after(self, since: float, subject_prefix: str) -> list[tuple[float, str, Message]]:
        """What was published on ``subject_prefix`` after ``since`` (monotonic)."""
        return [s for s in self.seen if s[0] > since and s[1].startswith(subject_prefix)]


@contextlib.asynccontextmanager
async def plant(
    nats_url: str, bus: Bus, tmp: Path, key: str, extra: str = ""
) -> AsyncIterator[Plant]:
    """Governance and the device service running the two-line plant (``extra``: more
    config files' text, appended to plant.yaml); samples flow, counters at 0."""
    config = tmp / "plant"
    config.mkdir()
    devices = "devices:\n" + "".join(
        DEVICE.format(n=n, key=key, machine=m) for n, m in enumerate(MACHINES)
    )
    oee = "oee:\n" + "".join(OEE.format(machine=m) for m in MACHINES)
    rules = "alert_rules:\n" + "".join(RULE.format(machine=m) for m in MACHINES)
    (config / "plant.yaml").write_text(PLANT + extra)
    (config / "devices.yaml").write_text(devices)
    (config / "oee.yaml").write_text(oee)
    (config / "alerts.yaml").write_text(rules)
    memory = []
    for n in range(len(MACHINES)):
        device = MemoryDriver.devices.setdefault(f"memory://replicas-{key}-{n}", MemoryDevice())
        device.values.update({"state": 3, "parts": 0, "temp": 20.0})
        memory.append(device)
    data = tmp / "hub"
    result = Plant(bus, key, memory, data / "pki" / PUBLIC_KEY_FILE)

    async def watch(subject: str, msg: Message, raw: Msg) -> None:
        result.seen.append((time.monotonic(), subject, msg))

    for family in ("oee", "alarm", "erp.workorder"):
        await bus.subscribe(f"plantbus.v1.{family}.>", watch)
    options = {"governance": {"bootstrap_config": str(config)}}
    async with hosted(
        [GovernanceService, DeviceService], nats_url=nats_url, data_dir=data, options=options
    ):
        yield result


@contextlib.contextmanager
def replicas(
    service: str, nats_url: str, root: Path, pubkey: Path | None = None, **kwargs: object
) -> Iterator[Replicas]:
    """:class:`Replicas`, every one stopped at the end."""
    group = Replicas(service, nats_url, root, pubkey, **kwargs)  # type: ignore[arg-type]
    try:
        yield group
    finally:
        group.close()
