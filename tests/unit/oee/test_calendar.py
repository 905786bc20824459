"""Shift calendars alone: overnight shifts, daylight-saving changes in Europe/Berlin both
ways, holidays, breaks with their own reasons, and the exact moments the status changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from plantbus.config.oee import ShiftCalendar
from plantbus.oee.calendar import OFF, CalendarStatus, status_at, transitions


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def calendar(**fields: Any) -> ShiftCalendar:
    doc: dict[str, Any] = {
        "name": "c",
        "timezone": "Europe/Berlin",
        "shifts": [
            {
                "name": "early",
                "start": "06:00",
                "end": "14:00",
                "breaks": [{"start": "10:00", "end": "10:30"}],
            },
            {
                "name": "night",
                "start": "22:00",
                "end": "06:00",
                "breaks": [{"start": "02:00", "end": "02:30", "reason": "meal"}],
            },
        ],
    }
    doc.update(fields)
    return ShiftCalendar.model_validate(doc)


def hours(changes: list[tuple[float, CalendarStatus]], shift: str) -> float:
    """Hours from the change into ``shift`` to the next change out of it (no breaks)."""
    start = next(ts for ts, s in changes if s.shift == shift)
    end = next(ts for ts, s in changes if ts > start and s.shift != shift)
    return (end - start) / 3600


def test_an_overnight_shift_belongs_to_the_day_it_starts() -> None:
    cal = calendar()
    # 23:30 and 03:00 local in winter (UTC+1) are both the night shift of 2026-01-05
    assert status_at(cal, utc(2026, 1, 5, 22, 30)) == CalendarStatus("night@2026-01-05", "")
    assert status_at(cal, utc(2026, 1, 6, 2, 0)) == CalendarStatus("night@2026-01-05", "")
    # 05:59:59 is still the night shift, 06:00 the early one of the next day
    assert status_at(cal, utc(2026, 1, 6, 4, 59, 59)).shift == "night@2026-01-05"
    assert status_at(cal, utc(2026, 1, 6, 5, 0)).shift == "early@2026-01-06"
    # between the early shift's end and the night shift's start: no shift
    assert status_at(cal, utc(2026, 1, 6, 15, 0)) == OFF


def test_breaks_carry_their_own_reason() -> None:
    cal = calendar()
    assert status_at(cal, utc(2026, 1, 5, 9, 15)) == CalendarStatus("early@2026-01-05", "break")
    assert status_at(cal, utc(2026, 1, 6, 1, 10)) == CalendarStatus("night@2026-01-05", "meal")
    assert status_at(cal, utc(2026, 1, 6, 1, 30)) == CalendarStatus("night@2026-01-05", "")


def test_transitions_are_exact_and_only_changes() -> None:
    changes = transitions(calendar(), utc(2026, 1, 5, 4, 0), utc(2026, 1, 6, 6, 0))
    assert changes == [
        (utc(2026, 1, 5, 5, 0), CalendarStatus("early@2026-01-05", "")),
        (utc(2026, 1, 5, 9, 0), CalendarStatus("early@2026-01-05", "break")),
        (utc(2026, 1, 5, 9, 30), CalendarStatus("early@2026-01-05", "")),
        (utc(2026, 1, 5, 13, 0), OFF),
        (utc(2026, 1, 5, 21, 0), CalendarStatus("night@2026-01-05", "")),
        (utc(2026, 1, 6, 1, 0), CalendarStatus("night@2026-01-05", "meal")),
        (utc(2026, 1, 6, 1, 30), CalendarStatus("night@2026-01-05", "")),
        (utc(2026, 1, 6, 5, 0), CalendarStatus("early@2026-01-06", "")),
    ]
    # the start is excluded, the end included; nothing in an empty or reversed range
    at = utc(2026, 1, 5, 5, 0)
    assert transitions(calendar(), at, at + 1) == []
    assert transitions(calendar(), at - 1, at) == changes[:1]
    assert transitions(calendar(), at, at - 10) == []


def test_spring_forward_shortens_the_night_shift_and_skips_its_break() -> None:
    # 2026-03-29 02:00 CET becomes 03:00 CEST: the night shift from 22:00 CET (21:00 UTC)
    # to 06:00 CEST (04:00 UTC) lasts 7 h, and the 02:00-02:30 meal never comes round
    changes = transitions(calendar(), utc(2026, 3, 28, 20, 0), utc(2026, 3, 29, 6, 0))
    assert changes[0] == (utc(2026, 3, 28, 21, 0), CalendarStatus("night@2026-03-28", ""))
    assert hours(changes, "night@2026-03-28") == 7
    assert all(s.breaks != "meal" for _, s in changes)


def test_fall_back_lengthens_the_night_shift_and_repeats_its_break() -> None:
    # 2026-10-25 03:00 CEST becomes 02:00 CET: 22:00 CEST (20:00 UTC) to 06:00 CET
    # (05:00 UTC) is 9 h, and the clocks show 02:00-02:30 twice
    changes = transitions(calendar(), utc(2026, 10, 24, 19, 0), utc(2026, 10, 25, 6, 0))
    assert hours(changes, "night@2026-10-24") == 9
    meals = [ts for ts, s in changes if s.breaks == "meal"]
    assert meals == [utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 1, 0)]


def test_a_shift_starting_in_the_skipped_hour_starts_at_the_change() -> None:
    cal = calendar(shifts=[{"name": "odd", "start": "02:30", "end": "10:00"}])
    changes = transitions(cal, utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 12, 0))
    # 02:30 does not exist on 2026-03-29: at 01:00 UTC the clocks jump to 03:00, past it
    assert changes == [
        (utc(2026, 3, 29, 1, 0), CalendarStatus("odd@2026-03-29", "")),
        (utc(2026, 3, 29, 8, 0), OFF),
    ]


def test_holidays_take_out_the_shifts_that_start_on_them() -> None:
    cal = calendar(holidays=["2026-01-06"])
    # the night shift starting on the 5th runs into the holiday's morning ...
    assert status_at(cal, utc(2026, 1, 6, 3, 0)).shift == "night@2026-01-05"
    # ... but no shift starts on the 6th
    assert status_at(cal, utc(2026, 1, 6, 9, 0)) == OFF
    assert status_at(cal, utc(2026, 1, 6, 22, 0)) == OFF
    changes = transitions(cal, utc(2026, 1, 6, 0, 0), utc(2026, 1, 7, 12, 0))
    assert changes == [
        (utc(2026, 1, 6, 1, 0), CalendarStatus("night@2026-01-05", "meal")),
        (utc(2026, 1, 6, 1, 30), CalendarStatus("night@2026-01-05", "")),
        (utc(2026, 1, 6, 5, 0), OFF),  # the 6th's early and night shifts do not run
        (utc(2026, 1, 7, 5, 0), CalendarStatus("early@2026-01-07", "")),
        (utc(2026, 1, 7, 9, 0), CalendarStatus("early@2026-01-07", "break")),
        (utc(2026, 1, 7, 9, 30), CalendarStatus("early@2026-01-07", "")),
    ]


def test_calendar_config_names_a_bad_time_zone() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Europe/Berlinn'"):
        calendar(timezone="Europe/Berlinn")
