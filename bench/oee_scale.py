"""OEE at plant scale, in process: 10,000 machines in 1,000 lines of a three-shift
calendar, each sending a device cycle of 50 tags once a (simulated) second, its state and
a cumulative parts count among them, as the live service computes them: each cycle
decoded and given to :class:`LiveOee` (:func:`plantbus.oee.feed.apply_batch`), a tick four
times a second, snapshots sent by :class:`SnapshotPublisher` (to a bus that only counts),
and a save round of every machine's and line's KV value.

CPU time (``time.process_time``) over 20 simulated seconds, so the neighbours on a shared
machine change little. ``OEE_SCALE_LINES`` sets the lines (1,000: 10,000 machines),
``OEE_SCALE_MACHINES`` the machines per line (10; 50 lines of 20 is ``plant_scale``'s
50,000-tag plant).

Prints JSON: oee_tick_us_per_machine_10k (per machine and tick), oee_us_per_cycle (decoding
and applying one device cycle), oee_cpu_ms_per_1k_samples (cycles, ticks and publishing per
1,000 samples of the cycles; saves not included), oee_publish_us_per_machine_s (publishing
per machine and second of plant time), oee_us_per_snapshot, oee_snapshots_per_machine_s,
oee_save_ms_10k (one save round of every machine), oee_save_bytes_per_machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from plantbus.config import PlantConfig
from plantbus.oee import feed
from plantbus.oee.live import LiveOee
from plantbus.oee.publishing import SnapshotPublisher
from plantbus.oee.saved import encode, values_to_save
from plantbus.v1 import telemetry_pb2

LINES = int(os.environ.get("OEE_SCALE_LINES", "1000"))
PER_LINE = int(os.environ.get("OEE_SCALE_MACHINES", "10"))
SECONDS, TICK_S, TAGS = 20, 0.25, 50
SHIFTS = [
    {"name": "early", "start": "06:00", "end": "14:00"},
    {"name": "late", "start": "14:00", "end": "22:00"},
    {"name": "night", "start": "22:00", "end": "06:00"},
]


def config() -> PlantConfig:
    lines = [
        {"name": f"l{n}", "machines": [{"name": f"m{m}"} for m in range(PER_LINE)]}
        for n in range(LINES)
    ]
    states = [{"value": False, "state": "running"}, {"value": True, "state": "stopped"}]
    mapping = {"state_tag": "state", "states": states, "total_tag": "parts"}
    return PlantConfig.model_validate(
        {
            "sites": [{"name": "p", "areas": [{"name": "a", "lines": lines}]}],
            "oee": [
                {"machine": f"p/a/l{n}/m{m}", **mapping, "counter_mode": "cumulative"}
                for n in range(LINES)
                for m in range(PER_LINE)
            ],
            "shift_calendars": [
                {
                    "name": "day",
                    "timezone": "UTC",
                    "lines": [f"p/a/l{n}" for n in range(LINES)],
                    "shifts": SHIFTS,
                }
            ],
        }
    )


def cycle(machine: str, second: int, ts: float) -> bytes:
    """A device cycle of the machine's 50 tags as stored in the stream."""
    batch = telemetry_pb2.TagSampleBatch(device="plc")
    for tag in ("state", "parts", *(f"t{i}" for i in range(TAGS - 2))):
        sample = batch.samples.add(path=f"{machine}/{tag}", quality=telemetry_pb2.QUALITY_GOOD)
        if tag == "state":
            sample.value.bool_value = second % 7 == 6
        elif tag == "parts":
            sample.value.int_value = second * 3
        else:
            sample.value.double_value = second + 0.5
        sample.source_time.FromNanoseconds(int(ts * 1e9))
    return batch.SerializeToString()


class CountingBus:
    """Takes what is published, serializes it as the bus would, and counts."""

    def __init__(self) -> None:
        self.messages = 0

    async def publish(self, subject: str, msg: Any, headers: Any = None) -> None:
        msg.SerializeToString()
        self.messages += 1


async def main() -> None:
    live = LiveOee()
    start = time.time()
    live.configure(config(), start)
    bus = CountingBus()
    out = SnapshotPublisher(bus)  # type: ignore[arg-type]
    machines = [f"p/a/l{n}/m{m}" for n in range(LINES) for m in range(PER_LINE)]
    cpu = {"sample": 0.0, "tick": 0.0, "publish": 0.0}
    samples = ticks = 0
    for step in range(int(SECONDS / TICK_S)):
        now = start + step * TICK_S
        began = time.process_time()
        if step % int(1 / TICK_S) == 0:
            second = int(step * TICK_S)
            cycles = [cycle(machine, second, now) for machine in machines]
            began = time.process_time()
            for seq, data in enumerate(cycles, start=samples + 1):
                batch = feed.decode_batch(data)
                assert batch is not None
                feed.apply_batch(live, batch, seq, {}, now)
            samples += len(machines)
        ticked = time.process_time()
        live.tick(now)
        ticks += 1
        published = time.process_time()
        await out.publish(live, now)
        done = time.process_time()
        cpu["sample"] += ticked - began
        cpu["tick"] += published - ticked
        cpu["publish"] += done - published
    began = time.process_time()
    docs = values_to_save(live, {f"p/a/l{n}" for n in range(LINES)}, 1, {})
    saved = [encode(doc) for doc in docs.values()]
    save_s = time.process_time() - began
    machine_bytes = [len(v) for k, v in zip(docs, saved, strict=True) if k.startswith("machine.")]
    figures = {
        "oee_tick_us_per_machine_10k": round(cpu["tick"] / ticks / len(machines) * 1e6, 3),
        "oee_us_per_cycle": round(cpu["sample"] / samples * 1e6, 2),
        "oee_cpu_ms_per_1k_samples": round(sum(cpu.values()) / (samples * TAGS) * 1e6, 3),
        "oee_publish_us_per_machine_s": round(cpu["publish"] / SECONDS / len(machines) * 1e6, 1),
        "oee_us_per_snapshot": round(cpu["publish"] / bus.messages * 1e6, 2),
        "oee_snapshots_per_machine_s": round(bus.messages / SECONDS / len(machines), 2),
        "oee_save_ms_10k": round(save_s * 1e3, 1),
        "oee_save_bytes_per_machine": round(sum(machine_bytes) / len(machine_bytes), 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
