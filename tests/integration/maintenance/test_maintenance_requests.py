"""Maintenance requests through the webhook connector: one per due point, retried while
the receiver is away, not asked again after a restart, asked anew after a recorded
maintenance."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2
from tests.integration.maintenance.test_maintenance_service import CONFIG, M2
from tests.maintenance_hooks import SECRET, receiving

OPTIONS = {"maintenance": {"history_wait_s": 0, "tick_s": 0.1}}
STARTS_PLAN = {
    "name": "spindle-starts",
    "machine": M2,
    "component": "spindle",
    "by": "cycles",
    "due": 3,
    "warning": 1,
}
"""Warning at two starts of m2 into running, due at three."""


def config(url: str, secret_file: Path) -> dict[str, Any]:
    secret_file.write_text(SECRET)
    section = {
        **CONFIG["maintenance"],
        "plans": [STARTS_PLAN],
        "requests": [
            {
                "name": "cmms",
                "connector": "webhook",
                "on": ["warning", "due"],
                "settings": {"url": url, "secret": f"file:{secret_file}"},
            }
        ],
    }
    return {**CONFIG, "maintenance": section}


async def _states(bus: Bus, start: float, values: list[float]) -> None:
    batch = telemetry_pb2.TagSampleBatch(device="plc")
    for i, value in enumerate(values):
        sample = batch.samples.add(path=f"{M2}/state", quality=telemetry_pb2.QUALITY_GOOD)
        sample.value.double_value = value
        sample.source_time.FromMicroseconds(int((start + 10 * i) * 1e6))
    await bus.publish(subjects.cycle(M2, "plc"), batch)


async def test_one_request_per_due_point(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    t = time.time() - 3600
    async with receiving() as (hooks, url):
        hooks.answers = [503]  # the first attempt finds the receiver busy
        await put_config(bus, config(url, tmp_path / "cmms.secret"))
        async with hosted(
            [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=OPTIONS
        ) as runner:
            service = runner.services["maintenance"]
            assert isinstance(service, MaintenanceService)
            await wait_until(lambda: "cmms" in service.workers and not service.replaying)
            # two starts: the warning (at two cycles); a third: due
            await _states(bus, t, [1, 3, 1, 3, 1])
            await wait_until(lambda: len(hooks.filed) == 1, timeout=20)
            await _states(bus, t + 50, [3, 1])
            await wait_until(lambda: len(hooks.filed) == 2, timeout=20)
            reasons = sorted(body["reason"] for body in hooks.filed.values())
            assert reasons == ["due", "warning"]
            assert {b["key"] for b in hooks.filed.values()} == {
                "spindle-starts:0:warning:cmms",
                "spindle-starts:0:due:cmms",
            }
            assert len(hooks.attempts) == 3  # the busy answer was retried
            await _states(bus, t + 100, [3, 1, 3, 1])  # still due: asked nothing more
            await wait_until(lambda: service.engine.usage[(M2, "spindle")].cycles == 5)
        async with hosted(
            [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=OPTIONS
        ) as runner:
            service = runner.services["maintenance"]
            assert isinstance(service, MaintenanceService)
            await wait_until(lambda: service.config_version == 1 and not service.replaying)
            await wait_until(lambda: service.engine.levels.get("spindle-starts") == (0, "due"))
            await service.record(M2, "spindle", "new spindle bearing", "fred")
            # two starts after the record (samples older than it count no more)
            await _states(bus, time.time() + 1, [3, 1, 3, 1])
            await wait_until(lambda: len(hooks.filed) == 3, timeout=20)
            assert "spindle-starts:1:warning:cmms" in {b["key"] for b in hooks.filed.values()}
            assert service.workers["cmms"].references  # the receiver's Location
        assert len(hooks.filed) == 3 and hooks.refused == []
