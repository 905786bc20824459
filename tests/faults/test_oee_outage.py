"""NATS down for 10 s while m1 stops and starts again: the device spools the samples with
their own times and replays them when NATS is back, and the OEE service books the stop
under its reason for as long as it lasted, not as running time (the bug: ticks during the
outage moved the machine's clock on in its last known state, and the replayed samples
then counted for nothing)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus
from plantbus.kit.natsserver import NatsServer
from plantbus.oee.service import OeeService
from plantbus.testing.harness import hosted
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2

M1 = "s/a/l/m1"
PLANT = "sites: [{name: s, areas: [{name: a, lines: [{name: l, machines: [{name: m1}]}]}]}]\n"
DEVICES = """\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://oee-outage
    machine: s/a/l/m1
    poll_interval_s: 0.1
    tags:
      - {name: state, address: state, data_type: uint16}
      - {name: reason, address: reason, data_type: uint16}
      - {name: parts, address: parts, data_type: uint32}
"""
OEE = """\
oee:
  - machine: s/a/l/m1
    state_tag: state
    reason_tag: reason
    total_tag: parts
    reason_codes: {102: jam}
    states: [{value: 1, state: running}, {value: 3, state: stopped, reason: fault}]
"""
OUTAGE_S = 10.0
POLL_S = 0.1


async def test_a_stop_during_a_nats_outage_is_booked_to_its_reason_and_duration(
    nats_server: NatsServer, bus: Bus, tmp_path: Path
) -> None:
    plant = tmp_path / "plant"
    plant.mkdir()
    for name, text in (("plant.yaml", PLANT), ("devices.yaml", DEVICES), ("oee.yaml", OEE)):
        (plant / name).write_text(text)
    device = MemoryDriver.devices.setdefault("memory://oee-outage", MemoryDevice())
    device.values.update({"state": 3, "reason": 0, "parts": 0})  # stopped until started
    downtimes: list[oee_pb2.DowntimeEvent] = []

    async def on_downtime(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.DowntimeEvent):
            downtimes.append(msg)

    await bus.subscribe("plantbus.v1.downtime.>", on_downtime)
    options = {"governance": {"bootstrap_config": str(plant)}}
    async with hosted(
        [GovernanceService, DeviceService, OeeService],
        nats_url=nats_server.url,
        data_dir=tmp_path / "data",
        options=options,
    ) as hub:
        oee = hub.services["oee"]
        assert isinstance(oee, OeeService)

        def state() -> str:
            return oee.machine_snapshot(M1, time.time()).state if M1 in oee.live.machines else ""

        # the OEE service reads the stream from its first config on: m1 starts after that
        await wait_until(lambda: oee._sub is not None, message="OEE consumes")
        device.values["state"] = 1
        await wait_until(lambda: state() == "running", timeout=20, message="m1 runs")
        await asyncio.sleep(1.0)

        nats_server.kill()
        killed = time.monotonic()
        await asyncio.sleep(2.0)
        device.values.update({"reason": 102, "state": 3})  # m1 stops: a jam
        stopped = time.time()
        await asyncio.sleep(5.0)
        device.values.update({"state": 1, "reason": 0})  # and runs again
        ran = time.time()
        # while NATS is away the OEE service still thinks m1 runs
        assert state() == "running"
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
        await asyncio.to_thread(nats_server.restart)

        def jam() -> float:
            return oee.engine.machines[M1].totals.down_by_reason.get("jam", 0.0)

        def jams(kind: int) -> list[oee_pb2.DowntimeEvent]:
            return [
                d for d in downtimes if d.kind == kind and d.reason == "jam" and d.machine == M1
            ]

        await wait_until(
            lambda: jams(oee_pb2.DOWNTIME_KIND_ENDED), timeout=40, message="the replayed jam ended"
        )
        lasted = ran - stopped
        assert abs(jam() - lasted) <= 3 * POLL_S, (jam(), lasted)
        # one episode (its start is sent again when the reason refines it)
        [ended] = jams(oee_pb2.DOWNTIME_KIND_ENDED)
        assert {d.id for d in jams(oee_pb2.DOWNTIME_KIND_STARTED)} == {ended.id}
        started = jams(oee_pb2.DOWNTIME_KIND_STARTED)[-1]
        start, end = started.start.ToNanoseconds() / 1e9, ended.end.ToNanoseconds() / 1e9
        assert abs(start - stopped) <= 2 * POLL_S and abs(end - ran) <= 2 * POLL_S
        snap = oee.machine_snapshot(M1, time.time())
        assert snap.state == "running" and snap.downtime_by_reason["jam"] == jam()
        assert snap.revision >= 1  # the figures shown during the outage were corrected
        line_stops = [d for d in downtimes if d.root_cause_machine]
        assert line_stops and {d.root_cause_machine for d in line_stops} == {M1}
        print(f"NATS down {OUTAGE_S:.0f}s; m1 stopped {lasted:.2f}s; booked jam {jam():.2f}s")
