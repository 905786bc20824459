"""The maintenance service's pure parts: the config section, indicators, the robust
baseline, Theil-Sen forecasts, usage counters, plan states and the engine."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from plantbus.config.issues import ConfigInvalid
from plantbus.config.maintenance import Monitor
from plantbus.maintenance.anomaly import RobustBaseline, RobustSettings
from plantbus.maintenance.engine import Engine
from plantbus.maintenance.forecast import forecast, theil_sen
from plantbus.maintenance.indicators import WindowAccumulator
from plantbus.maintenance.plans import status
from plantbus.maintenance.usage import Usage
from plantbus.sdk.maintenance import AnomalyModel, Window

from .conftest import MAINTENANCE, plant

T0 = 1_800_000_000.0  # a multiple of 60: windows start on it


def robust(mon: Monitor) -> AnomalyModel:
    return RobustBaseline(
        RobustSettings(baseline_windows=mon.baseline_windows, learn_windows=mon.learn_windows)
    )


# --- config -----------------------------------------------------------------------------


def test_the_section_loads_with_its_defaults() -> None:
    section = plant().maintenance
    assert section.monitors[0].states == ["running"]
    assert [p.by for p in section.plans] == ["running_hours", "condition"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("tag: vibration, indicator", "maintenance.yaml:10: maintenance.plans[1].tag"),
        ("{tag: s/a/l/m2/vibration", "maintenance.yaml:5: maintenance.monitors[0].tag"),
        ("component: spindle, by: running", "maintenance.yaml:7: maintenance.plans[0].component"),
        ("due: 2, warning: 0.5", "maintenance.yaml:7: maintenance.plans[0]"),
        ("limit: 8,", "maintenance.yaml:9: maintenance.plans[1]"),
    ],
)
def test_mistakes_are_named_with_file_and_line(change: str, expected: str) -> None:
    broken = {
        "tag: vibration, indicator": "tag: parts, indicator",
        "{tag: s/a/l/m2/vibration": "{tag: s/a/l/m2/nope",
        "component: spindle, by: running": "component: pump, by: running",
        "due: 2, warning: 0.5": "due: 2, warning: 3",
        "limit: 8,": "",
    }[change]
    with pytest.raises(ConfigInvalid) as info:
        plant(MAINTENANCE.replace(change, broken))
    text = "\n".join(str(i) for i in info.value.issues)
    assert expected in text, text


def test_a_monitor_needs_a_machine_with_a_state_tag() -> None:
    text = MAINTENANCE.replace("monitors:\n", "monitors:\n    - {tag: s/a/l/m2/parts}\n")
    plant(text)  # m2 has an OEE mapping: fine
    with pytest.raises(ConfigInvalid, match="unknown tag 's/a/l/m1/x'"):
        plant(MAINTENANCE.replace("monitors:\n", "monitors:\n    - {tag: s/a/l/m1/x}\n"))


# --- indicators -------------------------------------------------------------------------


def test_window_indicators_match_their_formulas() -> None:
    acc = WindowAccumulator("t", 60, ["running"])
    xs = [1000.0 + 0.01 * (i % 5) + 0.5 * i for i in range(30)]  # big mean, small spread
    ts = [T0 + 2 * i for i in range(30)]
    assert all(acc.add(t, x, "running") is None for t, x in zip(ts, xs, strict=True))
    w = acc.add(T0 + 60, 0.0, "running")  # the next window's first sample closes it
    assert w is not None and w.count == 30 and (w.start, w.end) == (T0, T0 + 58)
    mean = statistics.fmean(xs)
    assert w.mean == pytest.approx(mean, rel=1e-12)
    assert w.std == pytest.approx(statistics.pstdev(xs), rel=1e-9)
    assert w.rms == pytest.approx(math.sqrt(statistics.fmean(x * x for x in xs)), rel=1e-12)
    assert w.peak == max(xs)
    slope, *_ = statistics.linear_regression(ts, xs)
    assert w.slope == pytest.approx(3600 * slope, rel=1e-9)


def test_only_the_wanted_states_count_and_a_state_change_closes_the_window() -> None:
    acc = WindowAccumulator("t", 60, ["running"], min_samples=3)
    for i in range(5):
        acc.add(T0 + i, 1.0, "running")
    w = acc.add(T0 + 6, 99.0, "stopped")
    assert w is not None and w.count == 5 and w.peak == 1.0
    assert acc.add(T0 + 7, 99.0, "stopped") is None
    acc.add(T0 + 8, 2.0, "running")
    assert acc.close() is None  # one sample is not a window


def test_late_samples_are_dropped() -> None:
    acc = WindowAccumulator("t", 60, ["running"])
    for i in range(5):
        acc.add(T0 + 10 + i, 1.0, "running")
    acc.add(T0 + 1, 100.0, "running")
    w = acc.close()
    assert w is not None and w.peak == 1.0


# --- anomaly ----------------------------------------------------------------------------


def _window(value: float, spread: float = 0.1) -> Window:
    return Window("t", "running", 0, 60, 30, value, value, spread, value + spread, 0.0)


def test_robust_scores_after_learning_and_flags_a_shift() -> None:
    model = RobustBaseline(RobustSettings(baseline_windows=50, learn_windows=10))
    rng = random.Random(1)
    scores = [model.score(_window(5 + rng.gauss(0, 0.1))) for _ in range(60)]
    assert scores[:10] == [None] * 10
    normal = [s for s in scores[10:] if s is not None]
    assert statistics.median(normal) < 1.5
    shifted = model.score(_window(6.5))
    assert shifted is not None and shifted > 10
    assert model.learned == 50  # the baseline stays fixed once full


def test_robust_state_round_trips_and_ignores_garbage() -> None:
    model = RobustBaseline(RobustSettings(baseline_windows=20, learn_windows=5))
    for i in range(8):
        model.score(_window(5 + 0.01 * i))
    again = RobustBaseline(RobustSettings(baseline_windows=20, learn_windows=5))
    again.restore(model.state())
    assert again.score(_window(9)) == model.score(_window(9))
    again.restore({"values": {"mean": [1.0], "rms": []}})
    assert again.learned == 0


# --- forecast ---------------------------------------------------------------------------


def test_theil_sen_ignores_outliers_and_its_band_holds_the_slope() -> None:
    rng = random.Random(3)
    ts = [float(i) for i in range(60)]
    ys = [2 + 0.5 * t + rng.gauss(0, 0.2) for t in ts]
    ys[10], ys[40] = 100.0, -50.0
    slope, intercept, low, high = theil_sen(ts, ys)
    assert slope == pytest.approx(0.5, abs=0.02)
    assert intercept == pytest.approx(2, abs=0.3)
    assert low <= slope <= high and high - low < 0.01


def test_forecast_hours_to_the_limit_with_a_band() -> None:
    rng = random.Random(4)
    ts = [i / 60 for i in range(600)]  # ten hours of minute windows
    ys = [3 + 0.1 * t + rng.gauss(0, 0.05) for t in ts]
    fc = forecast(ts, ys, limit=5.0)
    assert fc is not None and fc.points == 600
    # level ~4.0 at 10 h, slope 0.1/h: ~10 h to go
    assert fc.hours == pytest.approx(10, rel=0.1)
    assert fc.hours_early is not None and fc.hours_late is not None
    assert fc.hours_early < fc.hours < fc.hours_late


def test_forecast_of_a_flat_signal_says_not_in_sight_and_a_reached_limit_says_zero() -> None:
    rng = random.Random(5)
    ts = [i / 60 for i in range(200)]
    flat = forecast(ts, [3 + rng.gauss(0, 0.05) for _ in ts], limit=5.0)
    assert flat is not None and flat.hours_late is None
    over = forecast(ts, [6.0 + 0.001 * i for i in range(200)], limit=5.0)
    assert over is not None and over.hours == 0.0
    falling = forecast(ts, [10 - t for t in ts], limit=2.0, falling=True)
    assert falling is not None and falling.hours == pytest.approx(10 - ts[-1] - 2, rel=1e-6)
    assert forecast(ts[:2], [1.0, 2.0], limit=5) is None


# --- usage and plans ---------------------------------------------------------------------


def test_usage_counts_running_time_starts_stops_and_wrapping_cycles() -> None:
    u = Usage(since=T0)
    u.observe_state("stopped", T0)
    u.observe_state("running", T0 + 100)
    u.observe_state("running", T0 + 200)
    u.observe_state("stopped", T0 + 400)
    u.observe_state("running", T0 + 500)
    assert (u.starts, u.stops) == (2, 1)
    assert u.running_hours(T0 + 600) == pytest.approx(400 / 3600)
    assert u.running_hours(T0 + 100_000) == pytest.approx((300 + 300) / 3600)  # gap capped
    assert u.cycles == 2  # starts, without a part counter
    u.observe_counter(65530, 65536)
    u.observe_counter(4, 65536)
    assert u.cycles == 2 + 10
    u.reset(T0 + 700, "bearing replaced", "engineer")
    assert (u.cycles, u.starts, u.epoch, u.last_note) == (0, 0, 1, "bearing replaced")
    assert u.running_hours(T0 + 760) == pytest.approx(60 / 3600)
    assert Usage.from_json({**u.to_json(), "unknown": 1}) == u


def test_usage_plan_levels() -> None:
    plan = plant().maintenance.plans[0]  # due at 2 h, warning 0.5 h before
    u = Usage(since=T0)
    levels = []
    for minute in range(121):
        u.observe_state("running", T0 + 60 * minute)
        if minute in (60, 96, 120):
            levels.append(status(plan, u, T0 + 60 * minute).level)
    assert levels == ["ok", "warning", "due"]


# --- the engine -------------------------------------------------------------------------


def _run(
    engine: Engine,
    hours: float,
    vib: float | None = None,
    rise_per_h: float = 0.0,
    start: float = T0,
) -> list:
    """Running m2 for ``hours``: the state every 10 s, vibration every 2 s."""
    rng = random.Random(7)
    events = []
    t = start
    while t < start + hours * 3600:
        if int(t) % 10 == 0:
            events += engine.sample("s/a/l/m2/state", t, 1)
        level = (vib or 4.0) + rise_per_h * (t - start) / 3600
        events += engine.sample("s/a/l/m2/vibration", t, level + rng.gauss(0, 0.2))
        t += 2
    return events


def test_engine_counts_usage_and_warns_on_hours_then_due() -> None:
    engine = Engine(robust)
    engine.configure(plant(), T0)
    events = _run(engine, 1.0)
    events += engine.tick(T0 + 3600)
    events += _run(engine, 0.6, start=T0 + 3600)
    events += engine.tick(T0 + 1.6 * 3600)
    events += _run(engine, 0.5, start=T0 + 1.6 * 3600)
    events += engine.tick(T0 + 2.1 * 3600)
    kinds = [(e.kind, e.plan) for e in events if e.kind in ("warning", "due")]
    assert kinds == [("warning", "spindle-hours"), ("due", "spindle-hours")]
    windows = [e for e in events if e.kind == "window"]
    assert len(windows) == 125  # 2.1 h of minute windows; the last one is still open
    assert windows[0].score is None and windows[-1].score is not None
    done = engine.done("s/a/l/m2", "spindle", T0 + 2.2 * 3600, "greased", "engineer")
    assert done.usage["running_hours"] == pytest.approx(2.1 + 300 / 3600, abs=0.01)  # gap cap
    assert engine.tick(T0 + 2.3 * 3600) == []  # back to ok, quietly


def test_engine_forecasts_a_rising_vibration_and_warns_a_day_ahead() -> None:
    engine = Engine(robust)
    engine.configure(plant(), T0)
    # 4.0 rising 0.05/h reaches 8 after 80 h; the 24 h warning comes after ~56 h
    events = _run(engine, 60, rise_per_h=0.05)
    warnings = [e for e in events if e.kind == "warning" and e.plan == "bearing"]
    assert warnings, "no warning"
    first = warnings[0]
    hours_in = (first.time - T0) / 3600
    assert 45 < hours_in < 60, hours_in
    assert first.forecast is not None and first.forecast.hours is not None
    assert 20 < first.forecast.hours < 40
    assert "predicted to reach 8 in" in first.message
    assert any(e.kind == "anomaly" for e in events)  # the drift leaves the baseline


def test_engine_keeps_state_across_a_new_config_version() -> None:
    engine = Engine(robust)
    config = plant()
    engine.configure(config, T0)
    _run(engine, 0.5)
    before = engine.usage[("s/a/l/m2", "spindle")].running_s
    engine.configure(config, T0 + 3600)
    assert engine.usage[("s/a/l/m2", "spindle")].running_s == before > 0
    assert engine.monitored["s/a/l/m2/vibration"].models
