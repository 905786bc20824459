"""The boundary cases of domain notes §2.6: shelving limits, flood and chatter thresholds."""

from __future__ import annotations

import pytest

from plantbus.alerting.conditions import Condition
from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.alerting.metrics import FloodDetector, metrics
from plantbus.config.rules import parse_rule
from plantbus.sdk.errors import ValidationFailed


def test_shelving_longer_than_the_limit_is_refused_and_changes_nothing() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    a.condition(True, 0)
    with pytest.raises(ValidationFailed, match="at most 3600 s"):
        a.shelve("op", "", until=3601, now=0, max_s=3600)
    assert a.state == AlarmState.UNACK and a.shelved_until == 0.0
    assert a.shelve("op", "", until=3600, now=0, max_s=3600)
    assert a.state == AlarmState.SHELVED


def test_unshelving_an_alarm_that_is_not_shelved_is_an_error() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    with pytest.raises(ValidationFailed, match="not shelved"):
        a.unshelve("op", 1)


def test_a_shelved_alarm_that_cleared_comes_back_normal() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    a.condition(True, 0)
    a.shelve("op", "", until=50, now=1)
    a.condition(False, 2)
    assert a.expire(50) and a.state == AlarmState.NORMAL


@pytest.mark.parametrize(("count", "floods"), [(10, False), (11, True)])
def test_flood_needs_more_than_ten_alarms_in_ten_minutes(count: int, floods: bool) -> None:
    flood = FloodDetector()
    for i in range(count):
        flood.annunciated("s/a", i * 59.0)  # all inside one 10-minute window
    assert flood.update((count - 1) * 59.0 + 1) == ({"s/a": True} if floods else {})


def test_a_flood_lasts_while_the_window_holds_five_or_more() -> None:
    flood = FloodDetector()
    for i in range(11):
        flood.annunciated("s/a", float(i))
    assert flood.update(11.0) == {"s/a": True}
    for i in range(5):
        flood.annunciated("s/a", 300.0 + i)
    assert flood.update(605.0) == {}  # the first 11 aged out, 5 remain
    assert flood.update(905.0) == {"s/a": False}


@pytest.mark.parametrize(
    ("activations", "chatters"),
    [([0.0, 30.0, 59.0], True), ([0.0, 30.0, 61.0], False), ([0.0, 61.0, 122.0], False)],
)
def test_chattering_is_three_activations_within_a_minute(
    activations: list[float], chatters: bool
) -> None:
    a = Alarm("c@m", "c", "s/a/l/m", activations=activations)
    assert metrics([a], now=200.0).chattering == (["c@m"] if chatters else [])


def test_stale_is_active_for_more_than_a_day() -> None:
    old = Alarm("o@m", "o", "s/a/l/m", active=True, changed_at=0.0)
    fresh = Alarm("f@m", "f", "s/a/l/m", active=True, changed_at=90_000.0)
    m = metrics([old, fresh], now=24 * 3600.0 + 1)
    assert m.stale == ["o@m"] and m.standing == ["f@m", "o@m"]


def test_rate_of_change_compares_the_change_per_second() -> None:
    rule = parse_rule(
        {"name": "ramp", "kind": "rate_of_change", "machine": "s/a/l/m", "tag": "t", "limit": 2.0}
    )
    cond = Condition(rule)
    assert not cond.sample(10.0, 0.0)
    assert not cond.sample(11.5, 1.0)  # 1.5 per second
    assert cond.sample(14.0, 2.0) and cond.active  # 2.5 per second
    assert cond.sample(14.5, 3.0) and not cond.active
