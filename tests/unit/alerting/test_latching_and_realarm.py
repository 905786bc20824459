"""Latched alarms (ack and reset), re-alarm of a standing acknowledged alarm, and
one-shot shelving (released when the condition clears)."""

from __future__ import annotations

import pytest

from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.sdk.errors import ValidationFailed

S = AlarmState


def test_a_latched_alarm_needs_acknowledge_and_reset() -> None:
    a = Alarm("trip@m", "trip", "s/a/l/m", latching=True)
    a.condition(True, 1)
    assert a.condition(False, 2) and a.state == S.LATCHED_UNACK  # B -> E, not D
    with pytest.raises(ValidationFailed, match="acknowledge it first"):
        a.reset("op", "", 3)
    assert a.acknowledge("op", "seen", 4) and a.state == S.LATCHED_ACKED  # E -> F
    assert a.reset("op", "valve checked", 5) and a.state == S.NORMAL  # F -> A
    assert a.note == "reset by op: valve checked"
    # acknowledged while active, then cleared: still latched (C -> F)
    a.condition(True, 6)
    a.acknowledge("op", "", 7)
    assert a.condition(False, 8) and a.state == S.LATCHED_ACKED
    # the condition returning while latched annunciates anew
    assert a.condition(True, 9) and a.state == S.UNACK


def test_reset_is_only_for_latched_alarms_and_latches_survive_suppression() -> None:
    plain = Alarm("r@m", "r", "s/a/l/m")
    plain.condition(True, 1)
    plain.acknowledge("op", "", 2)
    with pytest.raises(ValidationFailed, match="only a latched alarm is reset"):
        plain.reset("op", "", 3)
    latched = Alarm("trip@m", "trip", "s/a/l/m", latching=True)
    latched.condition(True, 1)
    latched.condition(False, 2)
    assert not latched.suppress(True, 3) and latched.state == S.LATCHED_UNACK


def test_an_acknowledged_standing_alarm_realarms() -> None:
    a = Alarm("hot@m", "hot", "s/a/l/m", realarm_s=600)
    a.condition(True, 0)
    a.acknowledge("op", "", 100)
    assert not a.realarm(699) and a.state == S.ACKED
    assert a.realarm(700) and a.state == S.UNACK
    assert "re-alarmed" in a.note
    never = Alarm("hot@m", "hot", "s/a/l/m")
    never.condition(True, 0)
    never.acknowledge("op", "", 1)
    assert not never.realarm(10**9)


def test_one_shot_shelving_ends_when_the_condition_clears() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    a.condition(True, 0)
    a.shelve("op", "known leak", until=3600, now=1, one_shot=True)
    assert a.state == S.SHELVED and a.note.startswith("one-shot shelved by op")
    assert a.condition(False, 10) and a.state == S.NORMAL  # released, nothing to ack
    assert not a.one_shot and a.shelved_until == 0
    # the next occurrence annunciates normally
    assert a.condition(True, 20) and a.state == S.UNACK
    # a timed shelve is not released by the condition clearing
    a.shelve("op", "maintenance", until=500, now=21)
    assert not a.condition(False, 30) and a.state == S.SHELVED
