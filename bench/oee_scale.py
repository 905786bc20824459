"""OEE at plant scale, in process: 10,000 machines in 1,000 lines of a three-shift
calendar, each sending its state and a cumulative parts count once a (simulated) second,
as the live service computes them: samples into :class:`LiveOee`, a tick four times a
second, snapshots sent by :class:`SnapshotPublisher` (to a bus that only counts), and a
save round of every machine's and line's KV value.

CPU time (``time.process_time``) over 20 simulated seconds, so the neighbours on a shared
machine change little. ``OEE_SCALE_LINES`` sets the lines (1,000: 10,000 machines).

Prints JSON: oee_tick_us_per_machine_10k, oee_us_per_sample_10k, oee_publish_us_per_machine_s
(publishing per machine and second of plant time), oee_snapshots_per_machine_s,
oee_save_ms_10k (one save round), oee_save_bytes_per_machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from plantbus.config import PlantConfig
from plantbus.oee.live import LiveOee
from plantbus.oee.publishing import SnapshotPublisher
from plantbus.oee.saved import encode, values_to_save

LINES, PER_LINE = int(os.environ.get("OEE_SCALE_LINES", "1000")), 10
SECONDS, TICK_S = 20, 0.25
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
            for machine in machines:
                live.sample(f"{machine}/state", second % 7 == 6, now, now)
                live.sample(f"{machine}/parts", second * 3, now, now)
            samples += 2 * len(machines)
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
        "oee_us_per_sample_10k": round(cpu["sample"] / samples * 1e6, 2),
        "oee_publish_us_per_machine_s": round(cpu["publish"] / SECONDS / len(machines) * 1e6, 1),
        "oee_snapshots_per_machine_s": round(bus.messages / SECONDS / len(machines), 2),
        "oee_save_ms_10k": round(save_s * 1e3, 1),
        "oee_save_bytes_per_machine": round(sum(machine_bytes) / len(machine_bytes), 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
