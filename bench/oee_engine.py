"""OEE: events per second through the pure engine, memory for 10,000 machines, and the
latency from a state-change sample on NATS to the OEE snapshot that shows the new state.

Prints JSON: oee_engine_events_per_s, oee_engine_mb_per_10k_machines,
state_to_oee_p50_ms, state_to_oee_p99_ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import nats_server, percentile

from plantbus.kit import streams, subjects
from plantbus.kit.bus import TYPE_HEADER, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.oee.engine import OeeEngine
from plantbus.oee.events import Count, Event, ShiftStart, StateChange
from plantbus.oee.service import OeeService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2, telemetry_pb2

MACHINES = 10_000


def synthetic_events(n: int, machines: int) -> list[Event]:
    """A shift start per machine, then state changes and counts round-robin."""
    events: list[Event] = [
        ShiftStart(0.0, f"m{i}", f"l{i % 100}", shift="A") for i in range(machines)
    ]
    for k in range(n):
        machine = f"m{k % machines}"
        ts = 1.0 + k / machines
        if k % 10 == 0:
            state = "stopped" if (k // machines) % 2 else "running"
            events.append(StateChange(ts, machine, state=state, reason="jam"))  # type: ignore[arg-type]
        else:
            events.append(Count(ts, machine, total=3, reject=k % 2))
    return events


def engine_throughput() -> float:
    events = synthetic_events(1_000_000, MACHINES)
    engine = OeeEngine()
    started = time.perf_counter()
    for event in events:
        engine.process(event)
    return len(events) / (time.perf_counter() - started)


def engine_memory_mb() -> float:
    tracemalloc.start()
    engine = OeeEngine()
    for event in synthetic_events(MACHINES * 4, MACHINES):
        engine.process(event)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / 2**20


async def state_latency(samples: int = 200) -> tuple[float, float]:
    config = {
        "sites": [
            {
                "name": "s",
                "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
            }
        ],
        "oee": [
            {
                "machine": "s/a/l/m1",
                "state_tag": "state",
                "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
            }
        ],
    }
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url))
        await streams.ensure_stream(bus, streams.CYCLES)
        await put_config(bus, config)
        seen: asyncio.Queue[tuple[float, str]] = asyncio.Queue()

        async def on_snap(subject, msg, raw) -> None:  # type: ignore[no-untyped-def]
            if isinstance(msg, oee_pb2.OeeSnapshot) and msg.scope == "s/a/l/m1":
                await seen.put((time.perf_counter(), msg.state))

        await bus.subscribe("plantbus.v1.oee.s.a.l.m1", on_snap)
        latencies = []
        async with hosted([OeeService], nats_url=server.url, data_dir=tmp) as runner:
            await wait_until(lambda: runner.services["oee"].config_version == 1)
            for i in range(samples):
                value, want = (1, "running") if i % 2 else (3, "stopped")
                sample = telemetry_pb2.TagSample(
                    path="s/a/l/m1/state", quality=telemetry_pb2.QUALITY_GOOD
                )
                sample.value.int_value = value
                sample.source_time.FromNanoseconds(time.time_ns())
                batch = telemetry_pb2.TagSampleBatch(samples=[sample], device="plc")
                sent = time.perf_counter()
                await bus.nc.publish(
                    subjects.cycle("s/a/l/m1", "plc"),
                    batch.SerializeToString(),
                    headers={TYPE_HEADER: "plantbus.v1.TagSampleBatch"},
                )
                while True:
                    at, state = await asyncio.wait_for(seen.get(), 5)
                    if state == want:
                        latencies.append((at - sent) * 1000)
                        break
        await bus.close()
    return percentile(latencies, 50), percentile(latencies, 99)


def main() -> None:
    p50, p99 = asyncio.run(state_latency())
    print(
        json.dumps(
            {
                "oee_engine_events_per_s": round(engine_throughput()),
                "oee_engine_mb_per_10k_machines": round(engine_memory_mb(), 1),
                "state_to_oee_p50_ms": round(p50, 2),
                "state_to_oee_p99_ms": round(p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
