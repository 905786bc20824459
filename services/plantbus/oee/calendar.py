"""Shift calendars: which shift (if any) and which break is in force at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plantbus.config.oee import ShiftCalendar

__all__ = ["CalendarStatus", "status_at"]


@dataclass(frozen=True)
class CalendarStatus:
    """The shift key (``A@2026-01-05``, '' outside shifts) and the break in force ('' if none)."""

    shift: str
    breaks: str


def _within(start: time, end: time, at: time) -> bool:
    if start <= end:
        return start <= at < end
    return at >= start or at < end  # runs past midnight


def status_at(calendar: ShiftCalendar, ts: float) -> CalendarStatus:
    """Shift and break at Unix time ``ts`` in the calendar's time zone."""
    local = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(calendar.timezone))
    now = local.time()
    for shift in calendar.shifts:
        if not _within(shift.start, shift.end, now):
            continue
        day: date = local.date()
        if shift.start > shift.end and now < shift.end:
            day -= timedelta(days=1)  # the shift began yesterday
        if day in calendar.holidays:
            return CalendarStatus("", "")
        brk = next((b for b in shift.breaks if _within(b.start, b.end, now)), None)
        return CalendarStatus(f"{shift.name}@{day.isoformat()}", "break" if brk else "")
    return CalendarStatus("", "")
