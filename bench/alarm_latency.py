"""Alerting: rule evaluations per second, and the latency from a threshold-crossing sample
published on NATS to the alarm on NATS.

Prints JSON: alarm_rule_evaluations_per_s, alarm_p50_ms, alarm_p99_ms.
"""

from __future__ import annotations

import asyncio
import json
import time

from _hub import nats_server, percentile

from plantbus.alerting.conditions import Condition
from plantbus.alerting.service import AlertingService
from plantbus.config.rules import parse_rule
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, telemetry_pb2

RULE = {
    "name": "hot",
    "kind": "high",
    "machine": "s/a/l/m1",
    "tag": "temp",
    "limit": 70.0,
    "deadband": 1.0,
}


def evaluations_per_s(n: int = 1_000_000) -> float:
    cond = Condition(parse_rule(RULE))
    started = time.perf_counter()
    for i in range(n):
        cond.sample(60.0 + (i % 20), i * 0.001)
    return n / (time.perf_counter() - started)


async def latency(rounds: int = 200) -> tuple[float, float]:
    config = {
        "sites": [
            {
                "name": "s",
                "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
            }
        ],
        "alert_rules": [RULE],
    }
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url))
        await put_config(bus, config)
        arrived: asyncio.Queue[tuple[float, str]] = asyncio.Queue()

        async def on_alarm(subject, msg, raw) -> None:  # type: ignore[no-untyped-def]
            if isinstance(msg, alerting_pb2.AlarmEvent):
                await arrived.put((time.perf_counter(), msg.state))

        await bus.subscribe("plantbus.v1.alarm.>", on_alarm)
        results = []
        async with hosted([AlertingService], nats_url=server.url, data_dir=tmp) as runner:
            await wait_until(lambda: runner.services["alerting"].config_version == 1)
            for i in range(rounds):
                hot = i % 2 == 0
                sample = telemetry_pb2.TagSample(
                    path="s/a/l/m1/temp", quality=telemetry_pb2.QUALITY_GOOD
                )
                sample.value.double_value = 80.0 if hot else 50.0
                sent = time.perf_counter()
                await bus.publish(
                    "plantbus.v1.telemetry.s.a.l.m1.temp",
                    telemetry_pb2.TagSampleBatch(samples=[sample]),
                )
                at, _ = await asyncio.wait_for(arrived.get(), 5)
                if hot:
                    results.append((at - sent) * 1000)
        await bus.close()
    return percentile(results, 50), percentile(results, 99)


def main() -> None:
    p50, p99 = asyncio.run(latency())
    print(
        json.dumps(
            {
                "alarm_rule_evaluations_per_s": round(evaluations_per_s()),
                "alarm_p50_ms": round(p50, 2),
                "alarm_p99_ms": round(p99, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
