"""The plant that service replicas (:mod:`plantbus.testing.replicas`) run in fault tests
and the failover bench: two lines of one machine each, fed by in-process memory devices
whose counters the caller drives (the "simulator"), with governance and the device service
in the caller's process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus
from plantbus.kit.signing import PUBLIC_KEY_FILE
from plantbus.testing.harness import hosted
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver

__all__ = ["LINES", "MACHINES", "Plant", "plant"]

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
