"""The device service against a real nats-server that is stopped, so samples go to a spool
on a disk that is full: the device keeps polling, health and heartbeat name the spool's
error, what could not be kept is counted, and the spool recovers when space returns."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc
from tests.disk import small_disk
from tests.heartbeats import detail_says

PLANT = "sites: [{name: s, areas: [{name: a, lines: [{name: l, machines: [{name: m1}]}]}]}]\n"
DEVICES = """\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://full-disk-{kind}
    machine: s/a/l/m1
    poll_interval_s: 0.02
    settings: {{changing: true}}
    tags: [{{name: count, address: c, data_type: uint32}}]
"""
FULL = "no space left on device"


@pytest.mark.parametrize("kind", ["tmpfs", "injected"])
async def test_a_full_disk_keeps_the_device_polling_reports_the_spool_and_recovers(
    kind: str,
    nats_server: NatsServer,
    bus: Bus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "plantbus.device.spool")
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    (plant / "devices.yaml").write_text(DEVICES.format(kind=kind))
    with small_disk(kind, tmp_path / "spool", monkeypatch) as disk:
        options = {
            "governance": {"bootstrap_config": str(plant)},
            "device": {"spool_dir": str(disk.path)},
        }
        async with hosted(
            [GovernanceService, DeviceService],
            nats_url=nats_server.url,
            data_dir=tmp_path / "data",
            options=options,
        ) as hub:
            service = hub.services["device"]
            assert isinstance(service, DeviceService)
            plc = await wait_until(lambda: service.runners.get("plc1"))
            await wait_until(lambda: plc.counters.samples_published > 3)

            disk.fill()
            nats_server.kill()  # from now on every sample goes to the spool, which fails
            await wait_until(lambda: FULL in service.spool.health.error, message="spool fails")
            polls = plc.counters.polls
            await wait_until(lambda: plc.counters.polls > polls + 10, message="still polling")
            assert plc.state == device_pb2.CONNECTION_STATE_CONNECTED
            assert plc.counters.samples_lost > 0 and service.spool.lost > 0
            serving, detail = service.health()
            assert serving and f"telemetry spool {disk.path} failing" in detail
            assert FULL in detail and "samples lost, spool not writable" in detail

            # NATS back, the disk still full: samples flow again, the heartbeat says why
            # some were lost, and the device's counters count them
            await asyncio.to_thread(nats_server.restart)
            await wait_until(lambda: detail_says(bus, "device", FULL), timeout=15)
            async with operator_channel(hub) as chan:
                info = await device_pb2_grpc.DeviceServiceStub(chan).GetDevice(
                    device_pb2.GetDeviceRequest(name="plc1")
                )
            assert info.device.counters.samples_lost >= plc.counters.samples_lost > 0

            # space returns: the next sample spooled is kept, and replayed when NATS is back
            disk.free()
            nats_server.kill()
            await wait_until(lambda: len(service.spool) > 5, message="spooled again")
            assert service.spool.health.error == ""
            await asyncio.to_thread(nats_server.restart)
            await wait_until(lambda: len(service.spool) == 0, timeout=30, message="replayed")
            await wait_until(lambda: detail_says(bus, "device", "failing", present=False))
    lines = [r.message for r in caplog.records if r.name == "plantbus.device.spool"]
    assert len([m for m in lines if "failing" in m]) == 1, lines
    assert len([m for m in lines if "works again" in m]) == 1, lines
