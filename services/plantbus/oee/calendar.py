"""Shift calendars: which shift (if any) and which planned stop is in force at a moment,
and the exact moments that changes between two times. Pure: the caller passes the times.

Shifts and breaks are wall-clock times in the calendar's time zone, what the plant's
clocks show: a daylight-saving change makes the shift across it an hour shorter (spring)
or longer (autumn); a boundary in the skipped hour takes effect at the change itself, and
a break inside the repeated hour is in force both times its wall times come round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plantbus.config.oee import ShiftCalendar
from plantbus.oee.events import BreakEnd, BreakStart, Event, ShiftEnd, ShiftStart

__all__ = [
    "OFF",
    "CalendarPlans",
    "CalendarStatus",
    "Change",
    "status_at",
    "status_events",
    "transitions",
]


@dataclass(frozen=True)
class CalendarStatus:
    """The shift key (``A@2026-01-05``, '' outside shifts) and the reason of the planned
    stop in force ('' if none)."""

    shift: str
    breaks: str


OFF = CalendarStatus("", "")
Change = tuple[float, CalendarStatus]
"""A calendar change: its time and the status from then on."""


def _within(start: time, end: time, at: time) -> bool:
    if start <= end:
        return start <= at < end
    return at >= start or at < end  # runs past midnight


def status_at(calendar: ShiftCalendar, ts: float) -> CalendarStatus:
    """Shift and planned stop at Unix time ``ts`` in the calendar's time zone."""
    local = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(calendar.timezone))
    now = local.time().replace(fold=0)
    for shift in calendar.shifts:
        if not _within(shift.start, shift.end, now):
            continue
        day: date = local.date()
        if shift.start > shift.end and now < shift.end:
            day -= timedelta(days=1)  # the shift began yesterday
        if day in calendar.holidays:
            return OFF
        brk = next((b for b in shift.breaks if _within(b.start, b.end, now)), None)
        return CalendarStatus(f"{shift.name}@{day.isoformat()}", brk.reason if brk else "")
    return OFF


def _offset_changes(zone: ZoneInfo, day: date) -> list[float]:
    """The instants during local ``day`` at which the zone's UTC offset changes."""
    start = datetime.combine(day, time(), zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(), zone).timestamp()

    def offset(ts: float) -> timedelta | None:
        return datetime.fromtimestamp(ts, zone).utcoffset()

    if offset(start) == offset(end):
        return []
    low, high = start, end  # offset(low) != offset(high): bisect to the second
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if offset(mid) == offset(start) else (low, mid)
    return [high]


def transitions(calendar: ShiftCalendar, after: float, until: float) -> list[Change]:
    """Every change of :func:`status_at` in (``after``, ``until``], with its exact time,
    in time order."""
    if until <= after:
        return []
    zone = ZoneInfo(calendar.timezone)
    first = datetime.fromtimestamp(after, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(until, zone).date() + timedelta(days=1)
    walls = {t for s in calendar.shifts for b in s.breaks for t in (b.start, b.end)}
    walls |= {t for s in calendar.shifts for t in (s.start, s.end)}
    candidates: set[float] = set()
    day = first
    while day <= last:
        candidates.update(_offset_changes(zone, day))
        for wall in walls:
            for fold in (0, 1):  # a wall time repeated by a change back occurs twice
                candidates.add(datetime.combine(day, wall.replace(fold=fold), zone).timestamp())
        day += timedelta(days=1)
    out: list[tuple[float, CalendarStatus]] = []
    current = status_at(calendar, after)
    for ts in sorted(c for c in candidates if after < c <= until):
        status = status_at(calendar, ts)
        if status != current:
            out.append((ts, status))
            current = status
    return out


def status_events(
    old: CalendarStatus, new: CalendarStatus, ts: float, machine: str, line: str
) -> list[Event]:
    """The break and shift ends and starts that take a machine from ``old`` to ``new``."""
    events: list[Event] = []
    if old.breaks and old.breaks != new.breaks:
        events.append(BreakEnd(ts, machine, line))
    if old.shift and old.shift != new.shift:
        events.append(ShiftEnd(ts, machine, line))
    if new.shift and new.shift != old.shift:
        events.append(ShiftStart(ts, machine, line, shift=new.shift))
    if new.breaks and new.breaks != old.breaks:
        events.append(BreakStart(ts, machine, line, reason=new.breaks))
    return events


_PLAN_S = 3600.0
"""How far ahead a line's calendar changes are worked out at once."""


class CalendarPlans:
    """Each line's calendar changes worked out an hour ahead: :func:`transitions` costs
    about as much for a quarter of a second as for an hour, and the OEE tick asks for
    every line four times a second."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[ShiftCalendar, float, float, list[Change]]] = {}

    def transitions(
        self, line: str, calendar: ShiftCalendar, since: float, now: float
    ) -> list[Change]:
        """:func:`transitions` of ``calendar`` in (``since``, ``now``], from the line's
        plan (made again when it does not cover them or the calendar is another)."""
        plan = self._plans.get(line)
        if plan is None or plan[0] is not calendar or not plan[1] <= since <= now <= plan[2]:
            until = max(since, now) + _PLAN_S
            plan = self._plans[line] = (calendar, since, until, transitions(calendar, since, until))
        return [(ts, status) for ts, status in plan[3] if since < ts <= now]
