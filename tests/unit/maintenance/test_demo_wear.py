"""The demo plant's maintenance section at every wear speed `plantbus up --wear-speed`
allows: replayed through the engine against the simulated line (polled every 0.5 s as the
demo's devices are, on a simulated clock), m2's bearing is warned of before it fails,
as far ahead in simulated hours as at the demo's speed, and the healthy machines raise
no warning. A forecast minutes away says so in minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plantbus.cli.up import up
from plantbus.cli.up_children import wear_config
from plantbus.config.loader import load_sources, read_sources
from plantbus.config.maintenance import Plan
from plantbus.maintenance.backtest import backtest
from plantbus.maintenance.forecast import Forecast
from plantbus.maintenance.plans import describe
from plantbus.maintenance.service import robust_model
from plantbus.sim import demo_plant
from plantbus.sim.history import simulate
from plantbus.sim.model import Bearing
from plantbus.sim.wear import DEMO_WEAR_SPEED, MAX_WEAR_SPEED, scale_maintenance, scaled_sources

M2 = "demo/machining/line1/m2"


@pytest.mark.parametrize("wear_speed", [DEMO_WEAR_SPEED, 600.0, MAX_WEAR_SPEED])
def test_the_bearing_is_warned_of_a_day_ahead_at_every_wear_speed(wear_speed: float) -> None:
    config = load_sources(scaled_sources(read_sources(demo_plant()), wear_speed), environ={})
    fail_s = Bearing().fail_h * 3600 / wear_speed
    samples, failures, span = simulate(
        fail_s * 1.02 / 86400, step_s=0.5, seed=7, wear_speed=wear_speed
    )
    result = backtest(config, samples, failures, span, robust_model, with_reference=False)
    forecast = result.rows[0]
    assert [f.machine for f in result.failures] == [M2]
    (lead_h,) = forecast.leads_h
    assert lead_h is not None, "no warning before the failure"
    assert lead_h * wear_speed >= 24, f"{lead_h * wear_speed:.1f} simulated hours ahead"
    assert forecast.false_per_machine_week == 0


def test_only_the_wears_clock_is_scaled() -> None:
    section = {
        "monitors": [{"tag": "s/a/l/m/v", "window_s": 30}, {"tag": "s/a/l/m/t", "min_samples": 9}],
        "plans": [
            {"name": "c", "by": "condition", "warning": 0.4, "forecast_window_h": 0.2},
            {"name": "d", "by": "condition", "warning": 1},
            {"name": "u", "by": "running_hours", "due": 500, "warning": 50},
        ],
    }
    out = scale_maintenance(section, 0.05)
    assert out["monitors"] == [
        {"tag": "s/a/l/m/v", "window_s": 1.5, "min_samples": 2},
        {"tag": "s/a/l/m/t", "window_s": 3.0, "min_samples": 2},  # default 60 s
    ]
    assert out["plans"][0] == pytest.approx(
        {"name": "c", "by": "condition", "warning": 0.02, "forecast_window_h": 0.01}
    )
    assert out["plans"][1]["forecast_window_h"] == pytest.approx(1.2)  # the default, 24 h
    assert out["plans"][2] == section["plans"][2]  # the line's own hours are not accelerated
    assert section["monitors"][0] == {"tag": "s/a/l/m/v", "window_s": 30}  # not changed


@pytest.mark.parametrize(
    ("hours", "early", "late", "said"),
    [
        (31.2, 24.4, 39.0, "in 31 h (24 h-39 h)"),
        (0.05, 0.02, None, "in 3 min (1 min-never)"),  # at 2400 a warning is minutes away
        (0.005, 0.002, 0.008, "in 18 s (7 s-29 s)"),
    ],
)
def test_a_forecast_says_its_time_in_the_unit_it_is_in(
    hours: float, early: float, late: float | None, said: str
) -> None:
    plan = Plan.model_validate(
        {"name": "b", "machine": M2, "by": "condition", "tag": "vibration", "limit": 7.1}
    )
    fc = Forecast(5.0, 1.0, 0.5, 2.0, hours, early, late, points=12)
    assert describe(plan, fc) == f"vibration rms of m2 predicted to reach 7.1 {said}"


def test_plantbus_up_bounds_the_wear_speed_and_needs_the_simulator_for_it(tmp_path: Path) -> None:
    too_fast = CliRunner().invoke(up, ["--wear-speed", "5000", "--data-dir", str(tmp_path)])
    assert too_fast.exit_code == 2 and "1.0<=x<=2400.0" in too_fast.output
    no_sim = ["--no-sim", "--wear-speed", "600", "--data-dir", str(tmp_path)]
    refused = CliRunner().invoke(up, no_sim)
    assert refused.exit_code == 2 and "leave out --no-sim" in refused.output
    assert not (tmp_path / "pki").exists(), "refused before anything was made"


def test_the_hub_starts_from_a_scaled_copy_of_the_plant(tmp_path: Path) -> None:
    assert wear_config(demo_plant(), tmp_path, DEMO_WEAR_SPEED) == demo_plant()
    copy = wear_config(demo_plant(), tmp_path, MAX_WEAR_SPEED)
    assert copy == tmp_path / "plant-wear"
    names = sorted(p.name for p in copy.iterdir())
    assert names == sorted(p.name for p in demo_plant().glob("*.yaml"))
    assert (copy / "oee.yaml").read_bytes() == (demo_plant() / "oee.yaml").read_bytes()
    config = load_sources(read_sources(copy), environ={})
    (plan,) = [p for p in config.maintenance.plans if p.name == "m2-bearing"]
    assert plan.warning == pytest.approx(0.02) and plan.forecast_window_h == pytest.approx(0.01)
