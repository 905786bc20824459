"""Maintenance reads only the cycles of the machines whose tags it uses, decodes only
those that hold such a tag, and follows a config that adds or removes a machine."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import handled_paths
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2
from tests.integration.maintenance.test_maintenance_service import CONFIG, M2

M1 = "s/a/l/m1"


def _with_m1(mapped: bool) -> dict[str, Any]:
    """CONFIG plus machine m1 and its device; ``mapped``: with an OEE state tag."""
    config = copy.deepcopy(CONFIG)
    config["sites"][0]["areas"][0]["lines"][0]["machines"].append({"name": "m1"})
    device = copy.deepcopy(config["devices"][0])
    config["devices"].append({**device, "name": "plc1", "endpoint": "memory://plc1", "machine": M1})
    if mapped:
        config["oee"].append({**config["oee"][0], "machine": M1})
    return config


async def _cycle(bus: Bus, machine: str, tags: dict[str, float]) -> None:
    batch = telemetry_pb2.TagSampleBatch(device="plc")
    for tag, value in tags.items():
        sample = batch.samples.add(path=f"{machine}/{tag}", quality=telemetry_pb2.QUALITY_GOOD)
        sample.value.double_value = value
        sample.source_time.FromMicroseconds(int(time.time() * 1e6))
    await bus.publish(subjects.cycle(machine, "plc"), batch)


async def test_only_the_machines_with_used_tags_are_read_and_config_changes_followed(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, _with_m1(mapped=False))
    no_historian = {"maintenance": {"history_wait_s": 0}}
    async with hosted(
        [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=no_historian
    ) as runner:
        service = runner.services["maintenance"]
        assert isinstance(service, MaintenanceService)
        await wait_until(lambda: service.config_version == 1 and not service.replaying)
        assert service.feed.machines == [M2]
        handled = handled_paths(service.feed)
        await _cycle(bus, M1, {"state": 1.0})  # no mapping: not read
        await _cycle(bus, M2, {"temp": 20.0})  # no tag it uses: not decoded
        await _cycle(bus, M2, {"state": 1.0, "temp": 20.0})
        await wait_until(lambda: handled)
        assert handled == [f"{M2}/state", f"{M2}/temp"]
        assert service.engine.states == {M2: "running"}

        await put_config(bus, _with_m1(mapped=True))
        await wait_until(lambda: service.config_version == 2)
        assert service.feed.machines == [M1, M2]
        await _cycle(bus, M1, {"state": 1.0})
        await wait_until(lambda: M1 in service.engine.states)
        assert service.engine.states[M1] == "running"

        removed = _with_m1(mapped=True)
        removed["oee"] = [m for m in removed["oee"] if m["machine"] == M1]
        removed["maintenance"]["monitors"] = []
        removed["maintenance"]["plans"] = []
        await put_config(bus, removed)
        await wait_until(lambda: service.config_version == 3)
        assert service.feed.machines == [M1]
        handled.clear()
        await _cycle(bus, M2, {"state": 3.0})  # no longer read
        await _cycle(bus, M1, {"state": 3.0})
        await wait_until(lambda: service.engine.states[M1] == "stopped")
        assert handled == [f"{M1}/state"]
