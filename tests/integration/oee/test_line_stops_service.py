"""The running OEE service publishes which machine stopped the line, on the line's
downtime subject beside its machines' events: m2 jams, m1 is blocked behind it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected, store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2, telemetry_pb2

STATES = [
    {"value": 1, "state": "running"},
    {"value": 3, "state": "stopped", "reason": "jam"},
    {"value": 5, "state": "stopped", "reason": "blocked"},
]
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [
                {
                    "name": "a",
                    "lines": [{"name": "l", "machines": [{"name": "m1"}, {"name": "m2"}]}],
                }
            ],
        }
    ],
    "oee": [
        {"machine": f"s/a/l/{m}", "state_tag": "state", "states": STATES} for m in ("m1", "m2")
    ],
}


async def state(bus: Bus, machine: str, code: int) -> None:
    sample = telemetry_pb2.TagSample(
        path=f"s/a/l/{machine}/state", quality=telemetry_pb2.QUALITY_GOOD
    )
    sample.value.int_value = code
    sample.source_time.FromNanoseconds(time.time_ns())
    await store_samples(bus, sample)


async def test_the_line_stop_names_the_machine_that_stopped_it(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    await put_config(bus, CONFIG)
    line_events = await collected(bus, "plantbus.v1.downtime.s.a.l.all", oee_pb2.DowntimeEvent)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        await wait_until(lambda: runner.services["oee"].config_version == 1)
        for machine in ("m1", "m2"):
            await state(bus, machine, 1)
        await state(bus, "m2", 3)  # jams first
        await state(bus, "m1", 5)  # blocked behind it
        stopped = await wait_until(
            lambda: next((e for e in line_events if len(e.line_states) == 2), None)
        )
        assert (stopped.machine, stopped.root_cause_machine) == ("s/a/l", "s/a/l/m2")
        assert dict(stopped.line_states) == {"m2": "root_cause", "m1": "blocked"}
        assert stopped.reason == "jam"
        for machine in ("m2", "m1"):
            await state(bus, machine, 1)
        ended = await wait_until(
            lambda: next((e for e in line_events if e.kind == oee_pb2.DOWNTIME_KIND_ENDED), None)
        )
        assert ended.id == stopped.id and ended.HasField("end")
