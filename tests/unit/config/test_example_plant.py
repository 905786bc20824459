"""The demo plant `plantbus up` runs is a valid, complete worked example."""

from __future__ import annotations

from pathlib import Path

from plantbus.config.loader import load_path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "plant"


def test_example_plant_validates_and_covers_every_section() -> None:
    config = load_path(EXAMPLE)
    assert config.machine_paths() == {f"demo/machining/line1/m{i}" for i in (1, 2, 3)}
    assert {d.driver for d in config.devices} == {"modbus"}
    assert {m.machine for m in config.oee} == config.machine_paths()
    assert config.shift_calendars and config.alert_rules and config.erp
    assert config.write_policies and config.users
