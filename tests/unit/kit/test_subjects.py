"""Subject builders and the token alphabet."""

from __future__ import annotations

import pytest

from plantbus.kit import subjects
from plantbus.sdk.errors import ValidationFailed


def test_builders_follow_the_versioned_scheme() -> None:
    assert subjects.telemetry("demo", "machining", "line1", "m1", "spindle_temp") == (
        "plantbus.v1.telemetry.demo.machining.line1.m1.spindle_temp"
    )
    assert subjects.oee("demo", "machining", "line1") == "plantbus.v1.oee.demo.machining.line1"
    assert subjects.alarm("s", "a", "l", "m", "hi-temp") == "plantbus.v1.alarm.s.a.l.m.hi-temp"
    assert subjects.workorder("demo", "line1") == "plantbus.v1.erp.workorder.demo.line1"
    assert subjects.heartbeat("device", "pod-7") == "plantbus.v1.svc.device.pod-7"


@pytest.mark.parametrize("bad", ["", "a.b", "a b", "*", ">", "-lead", "x" * 64, "ü"])
def test_unsafe_tokens_are_refused_with_the_alphabet(bad: str) -> None:
    with pytest.raises(ValidationFailed, match="letters, digits"):
        subjects.telemetry("s", "a", "l", "m", bad)
