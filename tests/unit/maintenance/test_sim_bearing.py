"""The simulator's wearing bearing: vibration and heat rise to a known failure, the
machine goes down then, the bearing is replaced; healthy machines stay noisy and flat."""

from __future__ import annotations

import statistics

import pytest

from plantbus.sim.model import VIBRATION, Bearing, MachineSim, MachineState, Reason, line


def _run(machine: MachineSim, hours: float, step_s: float = 5.0) -> list[tuple[float, ...]]:
    out = []
    t = 0.0
    while t <= hours * 3600:
        machine.step(t)
        out.append((t, machine.state, machine.vibration, machine.spindle_temp))
        t += step_s
    return out


def _running_vibration(rows: list, start_h: float, end_h: float) -> float:
    return statistics.median(
        v for t, s, v, _ in rows if s == MachineState.RUNNING and start_h * 3600 <= t < end_h * 3600
    )


def test_the_bearing_wears_to_its_failure_and_is_replaced() -> None:
    bearing = Bearing(onset_h=24, fail_h=96, repair_h=8)
    m2 = MachineSim("m2", cycle_time_s=3.0, seed=72, bearing=bearing)
    rows = _run(m2, 110)
    assert _running_vibration(rows, 1, 20) == pytest.approx(2.0, abs=0.1)
    assert _running_vibration(rows, 60, 62) > 2.5
    assert _running_vibration(rows, 95, 96) > 9.5
    down = [(t, s) for t, s, _, _ in rows if 96 * 3600 <= t < 104 * 3600]
    assert all(s == MachineState.DOWN for _, s in down)
    assert m2.reason != Reason.BEARING_FAILURE  # running again at the end
    assert _running_vibration(rows, 105, 110) == pytest.approx(2.0, abs=0.1)  # new bearing
    hot = statistics.median(temp for t, s, _, temp in rows if 95 * 3600 <= t < 96 * 3600)
    cool = statistics.median(temp for t, s, _, temp in rows if 10 * 3600 <= t < 11 * 3600)
    assert hot - cool > 15
    assert bearing.failures_h(250) == [96, 200]


def test_accelerated_wear_and_healthy_machines() -> None:
    m1, m2, _ = line(7, wear_speed=720)
    assert m1.bearing is None and m2.bearing is not None
    # 96 h of wear at 720 x: 8 minutes of line time
    rows = _run(m2, 8.5 / 60, step_s=1.0)
    failed = next(t for t, s, _, _ in rows if m2.bearing.wear(t * 720 / 3600) < 0)
    assert abs(failed - 480) <= 1
    healthy = _run(m1, 2)
    assert _running_vibration(healthy, 0, 1) == pytest.approx(2.0, abs=0.1)
    assert _running_vibration(healthy, 1, 2) == pytest.approx(2.0, abs=0.1)
    words = m1.registers()[VIBRATION : VIBRATION + 2]
    assert words != [0, 0]
