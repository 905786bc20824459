"""A demo that tells the truth: the simulated line follows its shift calendar (planned
stop in breaks and outside shifts, nothing counted), so the live OEE of the demo plant
keeps performance at or below 100 % through a break; a line that produces through its
break (``--no-calendar``) shows the parts as a data-quality finding instead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from plantbus.cli.sim import SIM_LINE, calendar_of, planned_by
from plantbus.config import PlantConfig
from plantbus.config.oee import ShiftCalendar
from plantbus.oee.live import LiveOee
from plantbus.oee.snapshot import OUTSIDE_PRODUCTION
from plantbus.sim import demo_plant
from plantbus.sim.model import MachineState, Planned, Reason, line


def utc(hour: int, minute: int = 0) -> float:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def demo_calendar() -> ShiftCalendar:
    calendar = calendar_of(demo_plant(), SIM_LINE)
    assert calendar is not None and calendar.name == "three-shifts"
    return calendar


def test_the_demo_calendar_plans_stops_in_breaks_and_outside_shifts() -> None:
    clock = Clock(utc(9))
    planned = planned_by(demo_calendar(), clock)
    assert planned() is None
    clock.now = utc(10, 15)  # the early shift's break, 10:00-10:30
    assert planned() == Reason.BREAK
    one_shift = ShiftCalendar.model_validate(
        {
            "name": "c",
            "lines": [SIM_LINE],
            "shifts": [{"name": "a", "start": "06:00", "end": "14:00"}],
        }
    )
    clock.now = utc(15)
    assert planned_by(one_shift, clock)() == Reason.NO_SHIFT


def test_machines_stop_in_the_break_count_nothing_and_resume() -> None:
    clock = Clock(utc(9, 59))
    (m1, *_) = line(7, planned_by(demo_calendar(), clock))
    m1.step(0.0)
    for t in range(5, 31 * 60, 5):
        clock.now = utc(9, 59) + t
        m1.step(float(t))
        if clock.now == utc(10, 1):
            parts, state = m1.parts, (m1.state, m1.reason)
    assert state == (MachineState.PLANNED_STOP, Reason.BREAK)
    assert m1.parts == parts and m1.state == MachineState.PLANNED_STOP
    clock.now = (
        utc(
            10,
            30,
        )
        + 5
    )
    m1.step(31 * 60 + 5.0)
    assert (m1.state, m1.reason) == (MachineState.RUNNING, Reason.NONE)


def demo_oee() -> PlantConfig:
    doc: dict[str, Any] = yaml.safe_load((demo_plant() / "oee.yaml").read_text())
    return PlantConfig.model_validate(doc)


def run_demo(planned: Planned | None, clock: Clock) -> Any:
    """m1 of the demo line from 09:00 to 11:00, its registers read every 5 s into the live
    OEE of the demo plant (its mapping and calendar)."""
    live = LiveOee()
    live.configure(demo_oee(), utc(8, 59))
    (m1, *_) = line(7, planned)
    m1.speed_setpoint = 3000  # the ideal rate: one part per cycle time
    machine = f"{SIM_LINE}/m1"
    for t in range(0, 2 * 3600 + 1, 5):
        clock.now = utc(9) + t
        m1.step(float(t))
        for tag, value in (
            ("state", int(m1.state)),
            ("reason", int(m1.reason)),
            ("parts", m1.parts),
        ):
            live.sample(f"{machine}/{tag}", value, clock.now, clock.now)
        live.tick(clock.now)
    return live.machine_snapshot(machine, clock.now)


def test_the_demo_line_keeps_performance_at_most_100_percent_through_a_break() -> None:
    clock = Clock(utc(9))
    snap = run_demo(planned_by(demo_calendar(), clock), clock)
    assert snap.kpis.planned_downtime_s == pytest.approx(1800, abs=5)  # the break
    assert 0.95 < snap.performance <= 1.0 + 1e-3
    assert list(snap.findings) == []


def test_a_line_producing_through_its_break_is_a_finding_not_a_silent_150_percent() -> None:
    clock = Clock(utc(9))
    snap = run_demo(None, clock)  # plantbus sim --no-calendar
    (finding,) = snap.findings
    assert finding.code == OUTSIDE_PRODUCTION
    assert 300 < finding.count <= 900  # 30 min at one part per 2 s, less its faults
    assert snap.performance > 1.05  # still shown, now with its reason
