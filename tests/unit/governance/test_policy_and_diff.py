"""Write decisions and the readable diff, on the example plant (pure, no hub)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plantbus.config.loader import load_path
from plantbus.governance.diff import config_diff
from plantbus.kit.authz import check_write

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "plant"
SETPOINT = "demo/machining/line1/m1/speed_setpoint"


@pytest.mark.parametrize(
    ("user", "tag", "value", "allowed", "reason_part"),
    [
        ("engineer", SETPOINT, 1200.0, True, "m1-speed"),
        ("engineer", SETPOINT, 5000.0, True, "m1-speed"),
        ("engineer", SETPOINT, 5000.5, False, "outside the limits"),
        ("engineer", SETPOINT, -1.0, False, "outside the limits"),
        ("operator", SETPOINT, 100.0, False, "no write policy"),
        ("mallory", SETPOINT, 100.0, False, "has no roles"),
        ("engineer", "demo/machining/line1/m1/parts", 1.0, False, "read-only"),
        ("engineer", "demo/machining/line1/m9/speed_setpoint", 1.0, False, "no tag"),
    ],
)
def test_write_decisions(
    user: str, tag: str, value: float, allowed: bool, reason_part: str
) -> None:
    decision = check_write(load_path(EXAMPLE), user, tag, value)
    assert decision.allowed is allowed
    assert reason_part in decision.reason


def test_diff_shows_only_the_change() -> None:
    old = load_path(EXAMPLE)
    new = old.model_copy(update={"users": old.users[:-1]})
    diff = config_diff(old, new, "v1", "v2")
    assert diff.startswith("--- v1\n+++ v2\n")
    removed = [
        line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert any("admin" in line for line in removed)
    assert not any(
        line.startswith("+") and not line.startswith("+++") for line in diff.splitlines()
    )
    assert config_diff(old, old, "v1", "v1") == ""


def test_a_limited_policy_refuses_values_it_cannot_check() -> None:
    config = load_path(EXAMPLE)
    decision = check_write(config, "engineer", "demo/machining/line1/m1/speed_setpoint", math.nan)
    assert not decision.allowed and "outside the limits" in decision.reason
