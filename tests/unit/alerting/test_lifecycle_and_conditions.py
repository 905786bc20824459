"""ISA-18.2 transitions, shelving, suppression; deadband and delays on a noisy signal."""

from __future__ import annotations

import math
import random

import pytest

from plantbus.alerting.conditions import Condition
from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.alerting.metrics import FloodDetector, metrics
from plantbus.config.rules import RuleBase, parse_rule
from plantbus.sdk.errors import ValidationFailed

S = AlarmState


def test_every_core_transition() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    assert a.condition(True, 1) and a.state == S.UNACK  # A -> B
    assert a.acknowledge("op", "seen", 2) and a.state == S.ACKED  # B -> C
    assert a.condition(False, 3) and a.state == S.NORMAL  # C -> A
    a.condition(True, 4)
    assert a.condition(False, 5) and a.state == S.RTN_UNACK  # B -> D
    assert a.condition(True, 6) and a.state == S.UNACK  # D -> B
    a.condition(False, 7)
    assert a.acknowledge("op", "", 8) and a.state == S.NORMAL  # D -> A
    with pytest.raises(ValidationFailed, match="nothing to acknowledge"):
        a.acknowledge("op", "", 9)


def test_shelving_expires_and_reannunciates_a_standing_condition() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    a.condition(True, 0)
    a.shelve("op", "sensor being replaced", until=100, now=1)
    assert a.state == S.SHELVED and "sensor being replaced" in a.note
    assert not a.condition(False, 10) and not a.condition(True, 20)  # tracked, not shown
    assert not a.expire(99) and a.expire(100)
    assert a.state == S.UNACK  # still true: new alarm
    with pytest.raises(ValidationFailed):
        a.shelve("op", "", until=5, now=200)


def test_suppression_and_out_of_service_hide_and_reevaluate() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    assert a.suppress(True, 1) and a.state == S.SUPPRESSED
    a.condition(True, 2)
    assert a.state == S.SUPPRESSED
    assert a.suppress(False, 3) and a.state == S.UNACK
    assert a.remove_from_service("tech", "permit 12", 100, 4) and a.state == S.OUT_OF_SERVICE
    with pytest.raises(ValidationFailed, match="out of service"):
        a.shelve("op", "", 100, 5)
    a.condition(False, 6)
    assert a.return_to_service("tech", 7) and a.state == S.NORMAL
    assert a.note == "returned to service by tech"


def test_out_of_service_needs_a_reason_and_a_bounded_expiry_and_returns_by_itself() -> None:
    a = Alarm("r@m", "r", "s/a/l/m")
    with pytest.raises(ValidationFailed, match="needs a reason"):
        a.remove_from_service("tech", " ", 100, 0)
    for until in (0.0, math.nan, math.inf):
        with pytest.raises(ValidationFailed, match="duration"):
            a.remove_from_service("tech", "permit", until, 0)
    with pytest.raises(ValidationFailed, match="for at most 50 s"):
        a.remove_from_service("tech", "permit", 60, 0, max_s=50)
    a.shelve("op", "", 30, 0)
    a.remove_from_service("tech", "permit 7", 60, 0, max_s=3600, mono=1000)
    assert (a.state, a.shelved_until, a.out_of_service_until) == (S.OUT_OF_SERVICE, 0.0, 60)
    assert a.note == "removed from service by tech: permit 7"
    a.condition(True, 10)
    assert not a.expire(59, mono=1059) and a.state == S.OUT_OF_SERVICE
    assert a.expire(60, mono=1060) and a.state == S.UNACK  # still active: annunciated
    assert a.note == "returned to service by expiry"
    with pytest.raises(ValidationFailed, match="not out of service"):
        a.return_to_service("tech", 61)


def rule(**kw: object) -> RuleBase:
    return parse_rule(
        {"name": "hot", "kind": "high", "machine": "s/a/l/m", "tag": "t", "limit": 70.0, **kw}
    )


def test_deadband_and_delays_on_a_noisy_signal_do_not_flap() -> None:
    cond = Condition(rule(deadband=2.0, on_delay_s=3.0, off_delay_s=3.0))
    rng = random.Random(1)
    flips = []
    t = 0.0
    for base in [65.0] * 50 + [72.0] * 100 + [69.0] * 100 + [60.0] * 50:
        t += 0.1
        if cond.sample(base + rng.uniform(-0.8, 0.8), t):
            flips.append((round(t, 1), cond.active))
    # one activation about 3 s after crossing, one clearing about 3 s after leaving the band
    assert [active for _, active in flips] == [True, False]
    assert 8.0 <= flips[0][0] <= 8.3 and 28.0 <= flips[1][0] <= 28.3


def test_a_spike_shorter_than_the_on_delay_is_ignored() -> None:
    cond = Condition(rule(on_delay_s=2.0))
    assert not cond.sample(80, 0.0) and not cond.sample(80, 1.5) and not cond.sample(60, 1.9)
    assert not cond.recheck(10.0) and not cond.active


def test_flood_starts_above_ten_and_ends_below_five() -> None:
    flood = FloodDetector()
    for i in range(11):
        flood.annunciated("s/a", float(i))
    assert flood.update(11.0) == {"s/a": True}
    assert flood.update(12.0) == {}
    assert flood.update(610.0) == {"s/a": False}


def test_metrics_chattering_standing_top() -> None:
    chatty = Alarm("c@m", "c", "s/a/l/m", activations=[0.0, 10.0, 20.0], active=True)
    calm = Alarm("q@m", "q", "s/b/l/m", activations=[100.0])
    m = metrics([chatty, calm], now=200.0)
    assert m.chattering == ["c@m"] and m.standing == ["c@m"]
    assert m.per_hour_by_area == {"s/a": 3, "s/b": 1}
    assert m.top_frequent == [("c@m", 3), ("q@m", 1)]
