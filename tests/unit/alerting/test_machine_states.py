"""Machine states from the state tag (decoded by the OEE mapping) and from OEE snapshots."""

from __future__ import annotations

from plantbus.alerting.machine_state import MachineStates
from plantbus.config.oee import OeeMapping

M1 = "s/a/l/m1"


def states() -> MachineStates:
    mapping = OeeMapping.model_validate(
        {
            "machine": M1,
            "state_tag": "state",
            "states": [
                {"value": 1, "state": "running"},
                {"value": 3, "state": "stopped"},
                {"value": 4, "state": "planned_stop"},
            ],
        }
    )
    ms = MachineStates()
    ms.configure([mapping])
    return ms


def test_state_tag_values_decode_whatever_their_wire_type() -> None:
    ms = states()
    assert ms.from_tag(f"{M1}/state", 3) == (M1, "stopped")
    assert ms.from_tag(f"{M1}/state", 3.0) == (M1, "stopped")
    assert ms.from_tag(f"{M1}/state", 9) is None  # unknown code
    assert ms.from_tag(f"{M1}/power", 3) is None  # not the state tag


def test_time_in_state_survives_repeats_from_either_source() -> None:
    ms = states()
    assert ms.observe(M1, "stopped", 10.0)
    assert not ms.observe(M1, "stopped", 20.0)  # e.g. an OEE snapshot after the tag
    assert ms.held(M1, "stopped", 45.0) == 35.0
    assert ms.held(M1, "running", 45.0) == 0.0
    assert ms.observe(M1, "running", 50.0) and ms.held(M1, "stopped", 60.0) == 0.0
    assert ms.held("s/a/l/other", "stopped", 60.0) == 0.0
