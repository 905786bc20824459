"""The live OEE core with shift calendars and telemetry samples, as the service runs it:
breaks under their own reasons, a calendar changed mid-shift, a counter sample replayed
after the shift ended, a restart, a sample stamped far in the future, and a month of
shifts and orders in bounded state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from plantbus.config import PlantConfig
from plantbus.oee.live import LiveOee
from plantbus.oee.persist import dump_machine, dump_shared, load_machine, load_shared

M1 = "s/a/l/m1"
MAPPING = {
    "machine": M1,
    "state_tag": "state",
    "total_tag": "parts",
    "reject_tag": "rejects",
    "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
    "ideal_cycle_time_s": 1.0,
}


def utc(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC).timestamp()


def config(shift_end: str = "14:00", **calendar: Any) -> PlantConfig:
    shifts = [
        {
            "name": "early",
            "start": "06:00",
            "end": shift_end,
            "breaks": [{"start": "10:00", "end": "10:30", "reason": "lunch"}],
        }
    ]
    cal = {"name": "c", "lines": ["s/a/l"], "shifts": shifts, **calendar}
    return PlantConfig.model_validate({"oee": [MAPPING], "shift_calendars": [cal]})


def run(live: LiveOee, start: float, end: float, step: float = 60.0) -> None:
    """Tick the wall clock from ``start`` to ``end``; m1 runs and sends its state."""
    now = start
    while now <= end:
        live.sample(f"{M1}/state", 1, now, now)
        live.tick(now)
        now += step


def finals(live: LiveOee) -> dict[str, Any]:
    return {f.shift or f.work_order: f for f in live.drain().finals}


def test_breaks_are_planned_downtime_under_their_configured_reason() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))
    run(live, utc(5, 5, 0), utc(5, 15, 0))
    [final] = finals(live).values()
    assert final.shift == "early@2026-01-05" and final.final
    assert final.kpis.planned_downtime_s == 30 * 60
    assert final.kpis.planned_busy_time_s == 7.5 * 3600
    assert live.engine.machines[M1].totals.planned_by_reason == {"lunch": 1800.0}


def test_a_calendar_changed_mid_shift_applies_from_the_change() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))
    run(live, utc(5, 5, 0), utc(5, 9, 0))
    # at 09:00 the shift is cut to end at 12:00 (and keeps its 10:00 lunch)
    live.configure(config(shift_end="12:00"), utc(5, 9, 0))
    run(live, utc(5, 9, 1), utc(5, 15, 0))
    final = finals(live)["early@2026-01-05"]
    assert final.kpis.planned_busy_time_s == 5.5 * 3600  # 06:00-12:00 less the lunch
    # a calendar that drops the shift in progress ends it at the change
    live.configure(config(), utc(6, 5, 0))
    run(live, utc(6, 5, 0), utc(6, 8, 0))
    live.configure(config(holidays=["2026-01-06"]), utc(6, 8, 0))
    run(live, utc(6, 8, 1), utc(6, 15, 0))
    assert finals(live)["early@2026-01-06"].kpis.planned_busy_time_s == 2 * 3600


def test_a_count_replayed_after_the_shift_ended_corrects_its_final() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))
    live.sample(f"{M1}/parts", 0, utc(5, 5, 59), utc(5, 5, 59))  # the baseline
    run(live, utc(5, 6, 0), utc(5, 14, 30))
    first = finals(live)["early@2026-01-05"]
    assert first.kpis.total_count == 0 and first.revision == 0
    # the spool replays what the counter said at 13:50 (and 14:10): 500 parts in the shift
    live.sample(f"{M1}/parts", 500, utc(5, 13, 50), utc(5, 14, 31))
    live.sample(f"{M1}/parts", 520, utc(5, 14, 10), utc(5, 14, 31))
    live.tick(utc(5, 14, 31))
    corrected = finals(live)["early@2026-01-05"]
    assert corrected.kpis.total_count == 500 and corrected.revision > first.revision
    assert live.engine.machines[M1].totals.total_count == 520


def test_a_restart_keeps_what_the_window_held() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))
    run(live, utc(5, 6, 0), utc(5, 7, 0))
    live.sample(
        f"{M1}/parts",
        10,
        utc(
            5,
            7,
            0,
        ),
        utc(5, 7, 0),
    )
    live.sample(f"{M1}/parts", 30, utc(5, 7, 0) + 1, utc(5, 7, 0) + 1)  # still in the window
    saved = json.loads(json.dumps({"m": dump_machine(live, M1), "s": dump_shared(live)}))
    again = LiveOee()
    load_shared(again, saved["s"])
    load_machine(again, M1, saved["m"])
    again.configure(config(), utc(5, 7, 1))
    again.tick(utc(5, 7, 10))
    assert again.engine.machines[M1].totals.total_count == 20
    assert again.status[M1].shift == "early@2026-01-05"
    # the calendar goes on from where it was: the shift ends while "down" and is final
    again.tick(utc(5, 15, 0))
    assert "early@2026-01-05" in finals(again)


def test_a_sample_from_far_ahead_of_the_hub_is_skipped_and_counted() -> None:
    live = LiveOee()
    live.configure(config(), utc(5, 5, 0))
    now = utc(5, 7, 0)
    live.sample(f"{M1}/state", 3, utc(5, 7, 0) + 90 * 86400, now)  # a PLC clock in April
    live.sample(f"{M1}/state", 3, now + 60, now)  # a device clock a minute ahead: followed
    assert live.ahead == 1
    live.sample(f"{M1}/state", 1, now + 120, now + 119)
    live.tick(now + 125)
    # the machine's clock is its own (a minute ahead), not April's: the running state shows
    assert live.machine_snapshot(M1, now + 125).state == "running"


def test_a_month_of_shifts_and_orders_keeps_the_saved_state_bounded() -> None:
    live = LiveOee()
    three = [
        {"name": "early", "start": "06:00", "end": "14:00"},
        {"name": "late", "start": "14:00", "end": "22:00"},
        {"name": "night", "start": "22:00", "end": "06:00"},
    ]
    plant = PlantConfig.model_validate(
        {"oee": [MAPPING], "shift_calendars": [{"name": "c", "lines": ["s/a/l"], "shifts": three}]}
    )
    start = utc(1, 0, 0)
    live.configure(plant, start)
    sizes: list[int] = []
    closed = 0
    parts = 0
    for hour in range(31 * 24):
        now = start + hour * 3600
        if hour % 4 == 0:  # a new work order every 4 hours
            live.work_order(M1, "running", f"WO-{hour}", 2.0, now)
        for minute in range(0, 60, 10):
            ts = now + minute * 60
            parts += 7
            live.sample(f"{M1}/state", 1 if minute else 3, ts, ts)
            live.sample(f"{M1}/parts", parts % 65536, ts, ts)
            live.tick(ts)
        if hour % 4 == 3:
            live.work_order(M1, "completed", f"WO-{hour - 3}", None, now + 3599)
        closed += len(live.drain().finals)
        doc = json.dumps({"m": dump_machine(live, M1), "s": dump_shared(live)})
        sizes.append(len(doc))
    assert closed >= 31 * 3 + 31 * 6 - 2  # every shift and order was published as final
    track = live.engine.machines[M1]
    assert len(track.shifts) <= 1 and len(track.orders) <= 1
    assert max(sizes) < 200_000  # well under NATS's 1 MB message limit
    # and not growing with time: once the recent downtime list is full (500 events, about
    # ten days here) the last days' state is no bigger than the middle of the month's
    assert max(sizes[-5 * 24 :]) <= max(sizes[14 * 24 : 16 * 24]) * 1.05
    assert track.totals.total_count == pytest.approx(parts - 7, abs=7 * 6)
