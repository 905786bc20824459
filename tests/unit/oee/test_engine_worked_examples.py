"""The KPI engine against worked examples: published ones and hand-computed edge cases."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from plantbus.oee.counters import CumulativeCounter
from plantbus.oee.jsonl import read_events
from plantbus.oee.report import compute

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC).timestamp()


def at(minutes: float) -> str:
    return datetime.fromtimestamp(T0 + minutes * 60, UTC).isoformat().replace("+00:00", "Z")


def ev(minutes: float, event: str, machine: str = "m1", **fields: Any) -> str:
    return json.dumps({"ts": at(minutes), "machine": machine, "event": event, **fields})


def run(lines: list[str]) -> dict[str, Any]:
    report = compute(read_events(lines))
    return report.as_dict()


def vorne_shift(machine: str = "m1", line: str = "") -> list[str]:
    """Vorne's classic example: 480 min shift, breaks 15 + 15 + 30 min, 47 min down,
    ideal rate 60 parts/min, 19,271 parts with 423 rejects."""
    extra = {"line": line} if line else {}
    return [
        ev(0, "shift_start", machine, shift="A", **extra),
        ev(0, "ideal_cycle_time", machine, seconds=1.0, **extra),
        ev(0, "state", machine, state="running", **extra),
        ev(120, "break_start", machine, reason="short break", **extra),
        ev(135, "break_end", machine, **extra),
        ev(200, "state", machine, state="stopped", reason="jam", **extra),
        ev(247, "state", machine, state="running", **extra),
        ev(270, "break_start", machine, reason="meal", **extra),
        ev(300, "break_end", machine, **extra),
        ev(400, "break_start", machine, reason="short break", **extra),
        ev(415, "break_end", machine, **extra),
        ev(480, "count", machine, total=19271, reject=423, **extra),
        ev(480, "shift_end", machine, **extra),
    ]


def test_vorne_classic_example_to_four_decimals() -> None:
    m = run(vorne_shift())["machines"]["m1"]
    assert m["planned_busy_time_s"] == 420 * 60
    assert m["actual_production_time_s"] == 373 * 60
    assert m["downtime_by_reason"] == {"jam": 47 * 60}
    assert round(m["availability"], 4) == 0.8881
    assert round(m["performance"], 4) == 0.8611
    assert round(m["quality"], 4) == 0.9780
    assert round(m["oee"], 4) == 0.7479
    # OEE = PRI * GQ / PBT when all factors share one time base
    assert m["oee"] == pytest.approx(18848 * 1.0 / (420 * 60))
    assert m["mtbf_s"] == 373 * 60 and m["mttr_s"] == 47 * 60


def test_work_order_change_mid_shift_weights_performance_by_run() -> None:
    # Koch's mixed-output case: run A 200 min at PRI 30 s (360 pcs), run B 100 min at 7.5 s (720)
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "work_order_start", order="A", ideal_cycle_time=30.0),
        ev(0, "state", state="running"),
        ev(200, "count", total=360, reject=0),
        ev(200, "work_order_end", order="A"),
        ev(200, "work_order_start", order="B", ideal_cycle_time=7.5),
        ev(300, "count", total=720, reject=0),
        ev(300, "shift_end"),
    ]
    m = run(lines)["machines"]["m1"]
    assert m["performance"] == pytest.approx(0.90)
    assert m["work_orders"]["A"]["performance"] == pytest.approx(0.90)
    assert m["work_orders"]["B"]["performance"] == pytest.approx(0.90)
    assert m["work_orders"]["B"]["actual_production_time_s"] == 100 * 60


def test_stop_spanning_a_shift_boundary_splits_its_time() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(470, "state", state="stopped", reason="tool_breakage"),
        ev(480, "shift_end"),
        ev(480, "shift_start", shift="B"),
        ev(490, "state", state="running"),
        ev(960, "shift_end"),
    ]
    m = run(lines)["machines"]["m1"]
    assert m["shifts"]["A"]["downtime_s"] == 600 and m["shifts"]["B"]["downtime_s"] == 600
    assert m["downtime_s"] == 1200 and m["failures"] == 1


def test_planned_break_inside_an_unplanned_stop_is_planned() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(240, "state", state="stopped", reason="jam"),
        ev(255, "break_start", reason="lunch"),
        ev(270, "break_end"),
        ev(287, "state", state="running"),
        ev(480, "shift_end"),
    ]
    m = run(lines)["machines"]["m1"]
    assert m["downtime_s"] == 32 * 60
    assert m["planned_downtime_by_reason"] == {"lunch": 15 * 60}
    assert m["planned_busy_time_s"] == 465 * 60


def test_line_aggregates_times_and_counts_not_ratios() -> None:
    fast = [
        ev(0, "shift_start", "m1", shift="A", line="L"),
        ev(0, "ideal_cycle_time", "m1", seconds=1.0, line="L"),
        ev(0, "state", "m1", state="running", line="L"),
        ev(60, "count", "m1", total=3000, reject=0, line="L"),
        ev(60, "shift_end", "m1", line="L"),
    ]
    slow = [
        ev(0, "shift_start", "m2", shift="A", line="L"),
        ev(0, "ideal_cycle_time", "m2", seconds=10.0, line="L"),
        ev(0, "state", "m2", state="running", line="L"),
        ev(30, "state", "m2", state="stopped", reason="jam", line="L"),
        ev(60, "count", "m2", total=150, reject=30, line="L"),
        ev(60, "shift_end", "m2", line="L"),
    ]
    out = run(fast + slow)
    m1, m2, line = out["machines"]["m1"], out["machines"]["m2"], out["lines"]["L"]
    assert (m1["oee"], m2["availability"]) == (pytest.approx(5 / 6), 0.5)
    assert line["availability"] == pytest.approx(90 / 120)
    assert line["performance"] == pytest.approx((3000 + 1500) / (90 * 60))
    assert line["quality"] == pytest.approx(3120 / 3150)
    assert line["oee"] != pytest.approx((m1["oee"] + m2["oee"]) / 2)


def test_wrapping_and_resetting_uint16_counter() -> None:
    counter = CumulativeCounter(modulus=65536)
    assert [counter.update(v) for v in (65530, 65535, 4, 10, 3)] == [0, 5, 5, 6, 3]


def test_duplicates_and_out_of_order_events_within_the_window() -> None:
    lines = vorne_shift()
    shuffled = [lines[0], lines[2], lines[1], *lines[3:6], lines[5], *lines[6:]]
    m = run(shuffled)["machines"]["m1"]
    assert round(m["oee"], 4) == 0.7479


def test_minor_stops_and_six_big_losses() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(10, "state", state="stopped", reason="jam"),
        ev(12, "state", state="running"),
        ev(20, "state", state="stopped", reason="changeover"),
        ev(50, "state", state="running"),
        ev(60, "state", state="stopped", reason="tool_breakage"),
        ev(80, "state", state="running"),
        ev(120, "shift_end"),
    ]
    losses = run(lines)["machines"]["m1"]["six_big_losses"]
    assert losses["minor_stops_s"] == 120
    assert losses["setup_adjustments_s"] == 1800
    assert losses["breakdowns_s"] == 1200


def test_cli_json_shape_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = vorne_shift()
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"ts": at(1), "machine": "m1", "event": "state", "state": "off"}))
    path.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "oee", "compute", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(result.stdout)
    m = out["machines"]["m1"]
    assert set(m) >= {
        "planned_busy_time_s",
        "actual_production_time_s",
        "downtime_s",
        "downtime_by_reason",
        "total_count",
        "good_count",
        "reject_count",
        "availability",
        "performance",
        "quality",
        "oee",
    }
    assert round(m["oee"], 4) == 0.7479
    assert "line 4: not JSON" in result.stderr and "line 6: state must be one of" in result.stderr
    table = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "oee", "compute", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "74.79%" in table


def test_a_reason_arriving_just_after_the_stop_relabels_it() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(10, "state", state="stopped", reason="fault"),
        ev(10.05, "state", state="stopped", reason="jam"),
        ev(20, "state", state="running"),
        ev(30, "shift_end"),
    ]
    m = run(lines)["machines"]["m1"]
    assert m["downtime_by_reason"] == {"jam": pytest.approx(600)}
    assert m["failures"] == 1
