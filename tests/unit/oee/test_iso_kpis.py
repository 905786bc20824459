"""ISO 22400-2 KPIs beyond A, P, Q and OEE, each against a shift worked out by hand from
its definition, and the loss settings taken from the plant config."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from plantbus.config.oee import OeeSettings
from plantbus.oee.engine import EngineSettings
from plantbus.oee.jsonl import read_events
from plantbus.oee.report import compute
from tests.unit.oee.test_engine_worked_examples import ev

MIN = 60.0


def shift_with_an_order() -> list[str]:
    """480 min: 30 min running without an order, then WO-1 from 30 to 450 (30 min
    changeover, a 15 min lunch break, a 20 min jam), then 30 min without an order."""
    return [
        ev(0, "shift_start", shift="A"),
        ev(0, "ideal_cycle_time", seconds=2.0),
        ev(0, "state", state="running"),
        ev(30, "work_order_start", order="WO-1", ideal_cycle_time=2.0),
        ev(30, "state", state="stopped", reason="changeover"),
        ev(60, "state", state="running"),
        ev(300, "break_start", reason="lunch"),
        ev(315, "break_end"),
        ev(400, "state", state="stopped", reason="jam"),
        ev(420, "state", state="running"),
        ev(450, "count", total=9000, reject=180, rework=90),
        ev(450, "work_order_end", order="WO-1"),
        ev(480, "count", total=800, reject=20),
        ev(480, "shift_end"),
    ]


def machine(lines: list[str], **settings: Any) -> dict[str, Any]:
    engine = EngineSettings.of(OeeSettings(**settings))
    out: dict[str, Any] = compute(read_events(lines), engine).as_dict()["machines"]["m1"]
    return out


def test_every_kpi_of_the_shift_by_hand() -> None:
    m = machine(shift_with_an_order())
    # time elements: POT 480, PDOT 15 (lunch), PBT 465; APT 30 + 240 + 85 + 30 + 30 = 415;
    # AUBT: WO-1 from 30 to 450 less the break = 405, of which 355 running; AUST 30
    pbt, apt, aubt, busy_apt, aust = 465 * MIN, 415 * MIN, 405 * MIN, 355 * MIN, 30 * MIN
    assert m["planned_busy_time_s"] == pbt and m["actual_production_time_s"] == apt
    assert m["actual_unit_busy_time_s"] == aubt
    # PQ 9800, SQ 200, RQ 90, GQ = PQ - SQ = 9600; PRI 2 s
    pq, sq, rq, gq = 9800, 200, 90, 9600
    assert (m["total_count"], m["reject_count"], m["rework_count"]) == (pq, sq, rq)
    a, e, q = apt / pbt, 2.0 * pq / apt, gq / pq
    assert m["availability"] == pytest.approx(a)  # 0.8925
    assert m["performance"] == pytest.approx(e)  # 0.7871
    assert m["quality"] == pytest.approx(q)  # 0.9796
    assert m["utilisation_efficiency"] == pytest.approx(busy_apt / aubt)  # 0.8765
    assert m["allocation_efficiency"] == pytest.approx(aubt / pbt)  # 0.8710
    assert m["nee"] == pytest.approx(busy_apt / aubt * e * q)  # 0.6759
    assert m["setup_ratio"] == pytest.approx(aust / (apt + aust))  # 30 / 445 = 0.0674
    assert m["scrap_ratio"] == pytest.approx(sq / pq)  # 0.0204
    assert m["rework_ratio"] == pytest.approx(rq / pq)  # 0.0092
    assert m["first_pass_yield"] == pytest.approx((pq - sq - rq) / pq)  # 0.9704
    assert m["teep"] == pytest.approx(a * e * q * pbt / (480 * MIN))
    # two stops (the changeover and the jam): MTBF = APT / 2, MTTR = 50 min / 2
    assert (m["mtbf_s"], m["mttr_s"]) == (pytest.approx(apt / 2), pytest.approx(25 * MIN))
    assert m["six_big_losses"]["setup_adjustments_s"] == aust
    assert m["six_big_losses"]["breakdowns_s"] == 20 * MIN


def test_the_work_order_scope_is_all_busy_time() -> None:
    wo = machine(shift_with_an_order())["work_orders"]["WO-1"]
    assert wo["planned_busy_time_s"] == wo["actual_unit_busy_time_s"] == 405 * MIN
    assert wo["allocation_efficiency"] == 1.0
    assert wo["utilisation_efficiency"] == pytest.approx(355 / 405)
    assert (wo["total_count"], wo["rework_count"]) == (9000, 90)
    assert wo["first_pass_yield"] == pytest.approx((9000 - 180 - 90) / 9000)


def test_without_orders_or_parts_the_ratios_are_no_data() -> None:
    m = machine(
        [ev(0, "shift_start", shift="A"), ev(0, "state", state="running"), ev(60, "shift_end")]
    )
    for name in ("allocation_efficiency", "utilisation_efficiency", "nee", "rework_ratio"):
        assert m[name] is None, name
    assert m["first_pass_yield"] is None and m["setup_ratio"] == 0.0


def test_loss_settings_come_from_the_config() -> None:
    lines = [
        ev(0, "shift_start", shift="A"),
        ev(0, "state", state="running"),
        ev(10, "state", state="stopped", reason="tool_change"),
        ev(18, "state", state="running"),
        ev(18.5, "count", total=10, reject=4),  # 30 s after the restart
        ev(30, "count", total=100, reject=1),
        ev(60, "shift_end"),
    ]
    today = machine(lines)["six_big_losses"]
    assert today["reduced_yield_s"] == 0 and today["setup_adjustments_s"] == 0
    assert today["breakdowns_s"] == 8 * MIN  # 8 min is not a minor stop under 5 min
    tuned = machine(lines, startup_window_s=60, minor_stop_s=600, setup_reasons=["tool_change"])[
        "six_big_losses"
    ]
    assert tuned["reduced_yield_s"] == 4 and tuned["process_defects_s"] == 1
    assert tuned["setup_adjustments_s"] == 8 * MIN and tuned["breakdowns_s"] == 0
    longer = machine(lines, minor_stop_s=600)["six_big_losses"]
    assert longer["minor_stops_s"] == 8 * MIN


def test_loss_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="minor_stop_s"):
        OeeSettings(minor_stop_s=-1)
    with pytest.raises(ValidationError, match="setup_reasons lists setup more than once"):
        OeeSettings(setup_reasons=["setup", "setup"])
    with pytest.raises(ValidationError, match="is shorter than reorder_window_s"):
        OeeSettings(reorder_window_s=10, correction_horizon_s=5)
    assert OeeSettings(correction_horizon_s=0).correction_horizon_s == 0
