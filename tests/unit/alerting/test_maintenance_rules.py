"""The maintenance rule kinds (pure): what each event says to them, what a recorded
maintenance clears, and their settings checked against the plant with file and line."""

from __future__ import annotations

import pytest

from plantbus.alerting.conditions import Condition
from plantbus.alerting.maintenance import view_of
from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import Source, load_sources
from plantbus.config.maintenance import MaintenanceConfig
from plantbus.config.rules import MaintenanceView, parse_rule
from plantbus.v1 import maintenance_pb2 as pb
from tests.unit.maintenance.conftest import MAINTENANCE, PLANT

M = "s/a/l/m1"


def view(kind: str, **fields: object) -> MaintenanceView:
    return MaintenanceView(kind, M, **fields)  # type: ignore[arg-type]


def test_a_plan_alarm_follows_its_levels_and_clears_when_its_maintenance_is_recorded() -> None:
    rule = parse_rule({"name": "svc", "kind": "maintenance", "machine": M, "plan": "p"})
    due_only = parse_rule({**rule.model_dump(), "level": "due"})
    assert rule.judge_maintenance(view("warning", plan="p"), False) is True
    assert due_only.judge_maintenance(view("warning", plan="p"), False) is False
    assert due_only.judge_maintenance(view("due", plan="p"), False) is True
    assert rule.judge_maintenance(view("ok", plan="p"), True) is False
    assert rule.judge_maintenance(view("warning", plan="other"), False) is None
    assert rule.judge_maintenance(view("forecast", plan="p"), True) is None
    assert rule.judge_maintenance(view("done", restarted_plans=frozenset({"q"})), True) is None
    assert rule.judge_maintenance(view("done", restarted_plans=frozenset({"p"})), True) is False


def test_an_anomaly_alarm_uses_the_monitors_threshold_unless_given_a_limit() -> None:
    rule = parse_rule({"name": "odd", "kind": "anomaly_score", "machine": M, "tag": "vib"})
    tag = f"{M}/vib"
    assert rule.judge_maintenance(view("window", tag=tag, score=6.0, threshold=6.0), False)
    assert not rule.judge_maintenance(view("window", tag=tag, score=5.9, threshold=6.0), False)
    assert rule.judge_maintenance(view("window", tag=tag, threshold=6.0), True) is None
    banded = parse_rule({**rule.model_dump(), "limit": 4.0, "deadband": 1.0})
    assert banded.judge_maintenance(view("window", tag=tag, score=3.5, threshold=6.0), True)
    assert not banded.judge_maintenance(view("window", tag=tag, score=3.5), False)
    restart = view("done", restarted_tags=frozenset({tag}))
    assert banded.judge_maintenance(restart, True) is False


def test_a_time_to_limit_alarm_holds_while_the_forecast_is_within_the_horizon() -> None:
    rule = parse_rule(
        {"name": "soon", "kind": "time_to_limit", "machine": M, "plan": "p", "horizon_h": 24}
    )
    cond = Condition(rule)
    assert cond.maintenance(view("forecast", plan="p", hours=30.0), 0) is False
    assert cond.maintenance(view("forecast", plan="p", hours=24.0), 1) and cond.active
    assert cond.maintenance(view("forecast", plan="p", hours=None), 2) and not cond.active


def test_a_recorded_maintenance_restarts_the_plans_and_baselines_of_its_component() -> None:
    section = MaintenanceConfig.model_validate(
        {
            "components": [{"machine": M, "name": "spindle"}],
            "monitors": [{"tag": f"{M}/vib"}, {"tag": f"{M}/temp"}],
            "plans": [
                {"name": "p", "machine": M, "component": "spindle", "by": "cycles", "due": 9},
                {"name": "b", "machine": M, "component": "spindle", "by": "condition"}
                | {"tag": "vib", "limit": 8},
            ],
        }
    )
    done = pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_DONE, machine=M)
    done.usage.component = "spindle"
    spindle = view_of(done, section)
    assert spindle is not None
    assert (spindle.restarted_plans, spindle.restarted_tags) == (
        frozenset({"p", "b"}),
        frozenset({f"{M}/vib"}),
    )
    done.usage.component = "machine"
    whole = view_of(done, section)
    assert whole is not None
    assert (whole.restarted_plans, whole.restarted_tags) == (
        frozenset(),
        frozenset({f"{M}/vib", f"{M}/temp"}),
    )


RULES = """\
alert_rules:
  - {name: svc, kind: maintenance, machine: s/a/l/m1, plan: bearing}
  - {name: soon, kind: time_to_limit, machine: s/a/l/m2, plan: spindle-hours, horizon_h: 24}
  - {name: odd, kind: anomaly_score, machine: s/a/l/m2, tag: state}
  - {name: misnamed, kind: maintenance, machine: s/a/l/m2, plan: bearings}
"""
NO_HORIZON = "  - {name: bad, kind: time_to_limit, machine: s/a/l/m2, plan: bearing}\n"


def issues(rules: str) -> str:
    sources = [Source("plant.yaml", PLANT), Source("maintenance.yaml", MAINTENANCE)]
    with pytest.raises(ConfigInvalid) as info:
        load_sources([*sources, Source("alerts.yaml", rules)])
    return "\n".join(str(i) for i in info.value.issues)


def test_settings_are_checked_against_the_plant_with_file_and_line() -> None:
    text = issues(RULES + NO_HORIZON)
    assert "alerts.yaml:6: alert_rules[4].time_to_limit.horizon_h: required field" in text
    text = issues(RULES)
    assert (
        "alerts.yaml:2: alert_rules[0].plan: machine 's/a/l/m1' has no maintenance plan "
        "'bearing' (add it to maintenance.plans)"
    ) in text, text
    assert (
        "alerts.yaml:3: alert_rules[1].plan: plan 'spindle-hours' is by running_hours; only "
        "condition plans are forecast"
    ) in text, text
    assert "alerts.yaml:4: alert_rules[2].tag: tag 's/a/l/m2/state' has no condition" in text
    assert (
        "alerts.yaml:5: alert_rules[3].plan: machine 's/a/l/m2' has no maintenance plan "
        "'bearings' (its plans: bearing, spindle-hours)"
    ) in text, text
