"""Downtime episodes as the engine reports them: start, refine, end, classify."""

from __future__ import annotations

import pytest

from plantbus.oee.engine import OeeEngine
from plantbus.oee.events import ShiftStart, StateChange
from plantbus.sdk.errors import NotFound
from plantbus.v1 import oee_pb2

M = "s/a/l/m1"


def _kinds(events: list[oee_pb2.DowntimeEvent]) -> list[int]:
    return [e.kind for e in events]


def test_a_reason_that_follows_the_stop_refines_the_same_episode() -> None:
    engine = OeeEngine()
    engine.process(StateChange(0.0, M, state="running"))
    (started,) = engine.process(StateChange(10.0, M, state="stopped"))
    (refined,) = engine.process(StateChange(12.0, M, state="stopped", reason="jam"))
    assert refined.id == started.id and refined.reason == "jam"
    assert _kinds([refined]) == [oee_pb2.DOWNTIME_KIND_STARTED]
    ended = engine.process(StateChange(20.0, M, state="running"))
    assert _kinds(ended) == [oee_pb2.DOWNTIME_KIND_ENDED] and ended[0].id == started.id


def test_a_late_reason_ends_the_stop_and_starts_another() -> None:
    engine = OeeEngine()
    engine.process(ShiftStart(0.0, M, shift="early"))
    engine.process(StateChange(0.0, M, state="stopped"))
    events = engine.process(StateChange(60.0, M, state="stopped", reason="jam"))
    assert _kinds(events) == [oee_pb2.DOWNTIME_KIND_ENDED, oee_pb2.DOWNTIME_KIND_STARTED]
    assert events[0].id != events[1].id


def test_classify_moves_the_episode_time_in_the_machine_and_its_shift() -> None:
    engine = OeeEngine()
    engine.process(ShiftStart(0.0, M, shift="early"))
    engine.process(StateChange(0.0, M, state="running"))
    (started,) = engine.process(StateChange(100.0, M, state="stopped"))
    engine.process(StateChange(130.0, M, state="running"))
    classified, old = engine.classify(started.id, "tool change", "operator", now=130.0)
    assert (classified.kind, classified.reason, old) == (
        oee_pb2.DOWNTIME_KIND_CLASSIFIED,
        "tool change",
        "unspecified",
    )
    totals = engine.machines[M].totals
    assert totals.down_by_reason == {"tool change": pytest.approx(30.0)}
    assert engine.machines[M].shifts["early"].down_by_reason == {"tool change": pytest.approx(30.0)}


def test_classifying_an_unknown_episode_says_so() -> None:
    with pytest.raises(NotFound, match="no downtime episode"):
        OeeEngine().classify("nope", "jam", "operator", now=0.0)
