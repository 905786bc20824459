"""Reason trees: category / reason / detail in the config, planned and the Six Big Losses
class at any level (inherited below it), reasons booked by their path, Pareto by level."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from plantbus.config import PlantConfig
from plantbus.config.oee import OeeSettings
from plantbus.config.validate import cross_check
from plantbus.oee.engine import EngineSettings
from plantbus.oee.jsonl import read_events
from plantbus.oee.reasons import ReasonTree, pareto
from plantbus.oee.report import compute
from tests.unit.oee.test_engine_worked_examples import ev

TREE: list[dict[str, Any]] = [
    {
        "name": "mechanical",
        "loss": "breakdowns",
        "children": [
            {"name": "jam", "children": [{"name": "feeder"}, {"name": "conveyor"}]},
            {"name": "tool_breakage"},
        ],
    },
    {"name": "operator", "children": [{"name": "adjusting", "loss": "minor_stops"}]},
    {"name": "product", "loss": "setup_adjustments", "children": [{"name": "changeover"}]},
    {"name": "maintenance", "planned": True, "children": [{"name": "planned_maintenance"}]},
]


def test_nodes_inherit_planned_and_loss_and_resolve_by_name_or_path() -> None:
    tree = ReasonTree.of(OeeSettings(reasons=TREE).reasons)
    assert tree.resolve("feeder") == tree.resolve("mechanical/jam/feeder")
    assert tree.resolve("feeder") == "mechanical/jam/feeder"
    assert tree.resolve("unheard_of") == "unheard_of"
    assert tree.loss("feeder") == "breakdowns" and tree.loss("adjusting") == "minor_stops"
    assert tree.loss("operator") is None and tree.loss("unheard_of") is None
    assert tree.planned("planned_maintenance") and not tree.planned("feeder")


def test_the_engine_books_by_path_and_classes_stops_by_the_tree() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(10, "state", state="stopped", reason="feeder"),  # 2 min, yet a breakdown
        ev(12, "state", state="running"),
        ev(20, "state", state="stopped", reason="conveyor"),  # 10 min breakdown
        ev(30, "state", state="running"),
        ev(40, "state", state="stopped", reason="adjusting"),  # 8 min, yet a minor stop
        ev(48, "state", state="running"),
        ev(60, "state", state="stopped", reason="changeover"),  # 20 min setup
        ev(80, "state", state="running"),
        ev(90, "state", state="stopped", reason="planned_maintenance"),  # 30 min planned
        ev(120, "state", state="running"),
        ev(130, "state", state="stopped", reason="jam"),  # 3 min, the rules: minor
        ev(133, "state", state="running"),
        ev(180, "shift_end"),
    ]
    settings = EngineSettings.of(OeeSettings(reasons=TREE))
    m = compute(read_events(lines), settings).as_dict()["machines"]["m1"]
    assert m["downtime_by_reason"] == {
        "mechanical/jam/feeder": 120,
        "mechanical/jam/conveyor": 600,
        "operator/adjusting": 480,
        "product/changeover": 1200,
        "mechanical/jam": 180,
    }
    assert m["planned_downtime_by_reason"] == {"maintenance/planned_maintenance": 1800}
    assert m["failures"] == 5  # the planned stop is no failure
    losses = m["six_big_losses"]
    assert losses["breakdowns_s"] == 120 + 600 + 180  # the bare "jam" inherits breakdowns
    assert losses["minor_stops_s"] == 480
    assert losses["setup_adjustments_s"] == 1200


def test_pareto_by_any_level() -> None:
    booked = {
        "mechanical/jam/feeder": 120.0,
        "mechanical/jam/conveyor": 600.0,
        "mechanical/tool_breakage": 300.0,
        "product/changeover": 1200.0,
        "unmapped state 9": 50.0,
    }
    assert pareto(booked, 1) == [
        ("product", 1200.0),
        ("mechanical", 1020.0),
        ("unmapped state 9", 50.0),  # not in the tree: its own entry at every level
    ]
    assert pareto(booked, 2) == [
        ("product/changeover", 1200.0),
        ("mechanical/jam", 720.0),
        ("mechanical/tool_breakage", 300.0),
        ("unmapped state 9", 50.0),
    ]
    assert pareto(booked, 3) == pareto(booked, 0) == sorted(booked.items(), key=lambda kv: -kv[1])


def test_the_tree_is_validated() -> None:
    with pytest.raises(ValidationError, match="'jam' is used twice"):
        OeeSettings(reasons=[{"name": "a", "children": [{"name": "jam"}]}, {"name": "jam"}])
    deep = [
        {
            "name": "a",
            "children": [{"name": "b", "children": [{"name": "c", "children": [{"name": "d"}]}]}],
        }
    ]
    with pytest.raises(ValidationError, match="'a/b/c/d' is 4 levels deep"):
        OeeSettings(reasons=deep)
    with pytest.raises(ValidationError, match="loss"):
        OeeSettings(reasons=[{"name": "a", "loss": "reduced_speed"}])
    plant = PlantConfig.model_validate(
        {
            "sites": [
                {
                    "name": "s",
                    "areas": [
                        {"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}
                    ],
                }
            ],
            "devices": [],
            "oee": [
                {
                    "machine": "s/a/l/m1",
                    "state_tag": "state",
                    "states": [{"value": 3, "state": "stopped", "reason": "feeder"}],
                    "reason_codes": {7: "mechanical/jam", 8: "gremlins"},
                }
            ],
            "oee_settings": {"reasons": TREE},
        }
    )
    findings = [(loc, msg) for loc, msg in cross_check(plant) if "oee_settings.reasons" in msg]
    assert findings == [
        (
            ("oee", 0, "reason_codes", 8),
            "reason 'gremlins' is not in oee_settings.reasons: add it to the tree or use one "
            "of its names",
        )
    ]
