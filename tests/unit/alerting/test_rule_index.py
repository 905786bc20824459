"""Rules indexed by what they judge: among a thousand rules that a sample, a snapshot or a
tick says nothing to, a delay still completes on a tick, a stale tag still raises, a
shelving still expires, an OEE rule still judges its line's snapshot, and the tags read
from the stream are exactly the ones that matter."""

from __future__ import annotations

import logging
import time
from typing import Any

from plantbus.alerting.evaluation import Evaluation
from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.alerting.store import AlarmStore
from plantbus.config import PlantConfig
from plantbus.config.rules import parse_rule
from plantbus.v1 import oee_pb2, telemetry_pb2

MACHINE = "s/a/l/m"
QUIET = [
    {"name": f"q{i}", "kind": "high", "machine": MACHINE, "tag": f"t{i}", "limit": 1e12}
    for i in range(1000)
]


def evaluation(*rules: dict[str, Any]) -> tuple[Evaluation, list[tuple[str, AlarmState]]]:
    changes: list[tuple[str, AlarmState]] = []

    async def changed(alarm: Alarm) -> None:
        changes.append((alarm.id, alarm.state))

    ev = Evaluation(AlarmStore(logging.getLogger("test")), changed)
    ev.select([parse_rule(r) for r in [*QUIET, *rules]], None)
    return ev, changes


def batch(tag: str, value: float) -> telemetry_pb2.TagSampleBatch:
    sample = telemetry_pb2.TagSample(path=f"{MACHINE}/{tag}", quality=telemetry_pb2.QUALITY_GOOD)
    sample.value.double_value = value
    return telemetry_pb2.TagSampleBatch(samples=[sample])


async def test_an_on_delay_completes_on_a_tick_without_another_sample() -> None:
    slow = {"name": "slow", "kind": "high", "machine": MACHINE, "tag": "x", "limit": 10}
    ev, changes = evaluation({**slow, "on_delay_s": 5.0})
    await ev.telemetry(batch("x", 20.0))
    start = time.monotonic()
    await ev.tick(start + 1)
    assert changes == []
    await ev.tick(start + 6)
    assert changes == [(f"slow@{MACHINE}", AlarmState.UNACK)]
    await ev.tick(start + 7)
    assert len(changes) == 1 and not ev.pending


async def test_time_judging_rules_and_waiting_alarms_are_ticked() -> None:
    stale = {"name": "gone", "kind": "stale", "machine": MACHINE, "tag": "y", "timeout_s": 5}
    ev, changes = evaluation(stale)
    now = time.monotonic()
    await ev.tick(now)  # the first look starts the stale clock
    quiet = ev.alarm(f"q1@{MACHINE}")
    quiet.condition(True, time.time())
    quiet.shelve("olga", "sensor swap", until=time.time() + 2, now=time.time(), mono=now)
    await ev.tick(now + 3)
    assert (f"q1@{MACHINE}", AlarmState.UNACK) in changes  # shelving ran out, still active
    await ev.tick(now + 6)
    assert changes[-1] == (f"gone@{MACHINE}", AlarmState.UNACK)


async def test_an_oee_rule_judges_its_lines_snapshots() -> None:
    low = {"name": "low", "kind": "oee_below", "line": "s/a/l", "limit": 0.6}
    ev, changes = evaluation(low)
    await ev.oee(oee_pb2.OeeSnapshot(scope=MACHINE, oee=0.1))
    await ev.oee(oee_pb2.OeeSnapshot(scope="s/a/l", oee=0.7))
    assert changes == []
    await ev.oee(oee_pb2.OeeSnapshot(scope="s/a/l", oee=0.5))
    assert changes == [("low@s/a/l", AlarmState.UNACK)]


def test_the_tags_read_are_the_rules_the_state_tags_and_the_suppressions() -> None:
    plant = {
        "sites": [
            {
                "name": "s",
                "areas": [
                    {"name": a, "lines": [{"name": "l", "machines": [{"name": "m"}]}]}
                    for a in ("a", "b")
                ],
            }
        ],
        "oee": [
            {
                "machine": f"s/{a}/l/m",
                "state_tag": "st",
                "states": [{"value": 1, "state": "running"}],
            }
            for a in ("a", "b")
        ],
        "alarm_management": {
            "suppressions": [
                {
                    "name": "door",
                    "alarms": ["hot@s/a/*"],
                    "when": {"kind": "tag", "tag": "s/b/l/m/door", "equals": [1]},
                }
            ]
        },
        "alert_rules": [
            {"name": "hot", "kind": "high", "machine": f"s/{a}/l/m", "tag": "temp", "limit": 9}
            for a in ("a", "b")
        ],
    }
    config = PlantConfig.model_validate(plant)
    ev = Evaluation(AlarmStore(logging.getLogger("test")), lambda alarm: None)  # type: ignore[arg-type,return-value]
    ev.configure(config)
    ev.select(config.alert_rules, {"s/a"})
    assert ev.tag_paths() == {"s/a/l/m/temp", "s/a/l/m/st", "s/b/l/m/door"}


async def test_a_tick_before_the_first_config_judges_nothing() -> None:
    async def changed(alarm: Alarm) -> None:
        raise AssertionError(alarm)

    await Evaluation(AlarmStore(logging.getLogger("test")), changed).tick(time.monotonic())
