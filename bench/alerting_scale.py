"""Alerting at plant scale, in process: 10,000 rules (1,000 machines x 10 ``high`` rules
whose limits the values never reach, so every sample is judged and none raises), the cost
of what the service does per telemetry message (its trace handling, decoding, judging),
per OEE snapshot (machine state, OEE rules) and per tick (delays, stale data, shelving).

CPU time (``time.process_time``), so the neighbours on a shared machine change little.

Prints JSON: alerting_us_per_sample_10k_rules, alerting_us_per_oee_snapshot_10k_rules,
alerting_tick_ms_10k_rules.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from plantbus.alerting.evaluation import Evaluation
from plantbus.alerting.lifecycle import Alarm
from plantbus.alerting.store import AlarmStore
from plantbus.config.rules import parse_rule
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import TYPE_HEADER, decode
from plantbus.v1 import oee_pb2, telemetry_pb2

MACHINES, RULES_PER_MACHINE = 1_000, 10
MESSAGES, SNAPSHOTS, TICKS = 50_000, 5_000, 50
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def machine(i: int) -> str:
    return f"p/a/l{i // 10}/m{i % 10}"


def evaluation() -> Evaluation:
    async def changed(alarm: Alarm) -> None:
        raise SystemExit(f"no alarm should change: {alarm.id}")

    rules = [
        parse_rule(
            {"name": f"high_t{t}", "kind": "high", "machine": machine(i), "tag": f"t{t}"}
            | {"limit": 1e12, "priority": "low"}
        )
        for i in range(MACHINES)
        for t in range(RULES_PER_MACHINE)
    ]
    ev = Evaluation(AlarmStore(logging.getLogger("bench")), changed)
    ev.select(rules, None)
    return ev


def messages() -> list[tuple[bytes, dict[str, str]]]:
    """One message per rule tag, as the device publishes it (a one-sample batch)."""
    out = []
    for k in range(MACHINES * RULES_PER_MACHINE):
        sample = telemetry_pb2.TagSample(
            path=f"{machine(k // RULES_PER_MACHINE)}/t{k % RULES_PER_MACHINE}",
            quality=telemetry_pb2.QUALITY_GOOD,
        )
        sample.value.double_value = float(k)
        sample.source_time.FromNanoseconds(time.time_ns())
        batch = telemetry_pb2.TagSampleBatch(samples=[sample])
        headers = {TYPE_HEADER: "plantbus.v1.TagSampleBatch", "traceparent": TRACEPARENT}
        out.append((batch.SerializeToString(), headers))
    return out


def handling() -> Callable[[dict[str, str]], AbstractContextManager[Any]]:
    """How the service wraps a telemetry message: a trace context carried (this tree) or
    a consumer span per message (before)."""
    consumption = getattr(otel, "Consumption", None)
    if consumption is not None:
        return consumption("receive").handling  # type: ignore[no-any-return]
    return lambda headers: otel.consume_span("receive", headers)


async def per_sample(ev: Evaluation) -> float:
    msgs = messages()
    handle = handling()
    started = time.process_time()
    for n in range(MESSAGES):
        data, headers = msgs[n % len(msgs)]
        with handle(headers):
            batch = decode(data, headers)
            assert isinstance(batch, telemetry_pb2.TagSampleBatch)
            await ev.telemetry(batch)
    return (time.process_time() - started) / MESSAGES * 1e6


async def per_snapshot(ev: Evaluation) -> float:
    snaps = [
        oee_pb2.OeeSnapshot(scope=machine(i), state="running", oee=0.8) for i in range(MACHINES)
    ]
    started = time.process_time()
    for n in range(SNAPSHOTS):
        await ev.oee(snaps[n % MACHINES])
    return (time.process_time() - started) / SNAPSHOTS * 1e6


async def per_tick(ev: Evaluation) -> float:
    now = time.monotonic()
    started = time.process_time()
    for n in range(TICKS):
        await ev.tick(now + n * 0.1)
    return (time.process_time() - started) / TICKS * 1e3


async def main() -> None:
    otel.configure("bench-alerting", "bench")
    ev = evaluation()
    figures = {
        "alerting_us_per_sample_10k_rules": round(await per_sample(ev), 2),
        "alerting_us_per_oee_snapshot_10k_rules": round(await per_snapshot(ev), 2),
        "alerting_tick_ms_10k_rules": round(await per_tick(ev), 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
