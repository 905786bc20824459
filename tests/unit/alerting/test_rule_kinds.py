"""Each rule kind alone: what it judges abnormal, and what it checks against the plant."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plantbus.config.rules import PlantRefs, RuleBase, parse_rule

REFS = PlantRefs(
    machines=frozenset({"s/a/l/m"}),
    tags=frozenset({"s/a/l/m/t"}),
    lines=frozenset({"s/a/l"}),
)


class View:
    def __init__(self, since_good: float = 0.0, in_state: float = 0.0) -> None:
        self.since_good, self.in_state = since_good, in_state

    def seconds_since_good(self, tag_path: str, now: float) -> float:
        return self.since_good

    def seconds_in_state(self, machine: str, state: str, now: float) -> float:
        return self.in_state


def rule(kind: str, **kw: object) -> RuleBase:
    base: dict[str, object] = {"name": "r", "kind": kind, "machine": "s/a/l/m", "tag": "t"}
    return parse_rule({**base, **kw})


def test_thresholds_compare_good_numbers_with_a_deadband_on_the_way_back() -> None:
    high = rule("high", limit=70.0, deadband=2.0)
    assert high.judge_sample(True, 70.0, None, 0.0, active=False) is True
    assert high.judge_sample(True, 69.0, None, 0.0, active=True) is True  # inside the band
    assert high.judge_sample(True, 67.0, None, 0.0, active=True) is False
    assert high.judge_sample(False, 99.0, None, 0.0, active=False) is None  # bad quality
    assert high.judge_sample(True, "text", None, 0.0, active=False) is None
    assert rule("low_low", limit=5.0).judge_sample(True, 5, None, 0.0, active=False) is True


def test_rate_of_change_needs_a_previous_sample() -> None:
    ramp = rule("rate_of_change", limit=2.0)
    assert ramp.judge_sample(True, 10.0, None, 0.0, active=False) is False
    assert ramp.judge_sample(True, 13.0, (10.0, 0.0), 1.0, active=False) is True


def test_stale_and_state_duration_judge_the_passing_of_time() -> None:
    stale = rule("stale", timeout_s=5.0)
    assert stale.judge_sample(True, 1.0, None, 0.0, active=False) is None
    assert stale.judge_tick(View(since_good=6.0), 10.0) is True
    assert stale.judge_tick(View(since_good=4.0), 10.0) is False
    held = parse_rule({"name": "d", "kind": "state_duration", "machine": "s/a/l/m", "limit": 60})
    assert held.judge_tick(View(in_state=61.0), 0.0) is True
    assert held.tag_path is None and held.scope == "s/a/l/m"


def test_bad_quality_judges_every_sample() -> None:
    quality = rule("bad_quality")
    assert quality.judge_sample(False, None, None, 0.0, active=False) is True
    assert quality.judge_sample(True, 1.0, None, 0.0, active=True) is False


def test_oee_below_hears_only_its_line() -> None:
    low = parse_rule({"name": "o", "kind": "oee_below", "line": "s/a/l", "limit": 0.6})
    assert low.scope == "s/a/l"
    assert low.judge_oee("s/a/l", 0.5) is True
    assert low.judge_oee("s/a/other", 0.1) is None
    assert low.judge_oee("s/a/l", None) is None


def test_checks_name_what_the_plant_lacks() -> None:
    assert list(rule("high", limit=1.0).check(REFS)) == []
    assert list(rule("high", limit=1.0, tag="nope").check(REFS)) == [
        ("tag", "machine 's/a/l/m' has no tag 'nope'")
    ]
    assert list(rule("stale", machine="s/a/l/x").check(REFS)) == [
        ("machine", "unknown machine 's/a/l/x'")
    ]
    low = parse_rule({"name": "o", "kind": "oee_below", "line": "s/a/x", "limit": 0.6})
    assert list(low.check(REFS)) == [("line", "unknown line 's/a/x'")]


def test_a_setting_the_kind_does_not_have_is_refused() -> None:
    with pytest.raises(ValidationError, match="window_s"):
        rule("stale", window_s=5.0)
    with pytest.raises(ValidationError, match="tag"):
        parse_rule({"name": "r", "kind": "high", "machine": "s/a/l/m", "limit": 1.0})
