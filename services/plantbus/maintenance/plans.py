"""Where each maintenance plan stands (pure): ok, warning or due, and how far off.

Usage plans compare a counter with the plan's due point: ``due`` when counter >= due,
``warning`` when counter >= due - warning. Condition plans use the forecast of their
indicator: ``due`` when the trend's level has reached the limit, ``warning`` when the
trend heads for the limit beyond doubt (the whole slope band on that side of zero, from at
least ``MIN_POINTS`` windows covering at least half the plan's ``forecast_window_h``) and
the band's earliest time to it is within ``warning`` hours. A short or noisy trend has a
wide band; requiring its far end past zero, and a trend long enough to mean something,
keeps it from warning on noise (the first minutes after a start or a replacement).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from plantbus.config.maintenance import Plan
from plantbus.maintenance.forecast import Forecast
from plantbus.maintenance.usage import Usage

__all__ = ["UNITS", "PlanStatus", "status"]

Level = Literal["ok", "warning", "due", "unknown"]
MIN_POINTS: Final = 10
UNITS: Final = {"running_hours": "h", "cycles": "cycles", "calendar_days": "d", "condition": ""}


@dataclass(frozen=True)
class PlanStatus:
    """A plan's state at one moment."""

    plan: str
    level: Level
    value: float
    """The counter (usage plans) or the indicator's trend level (condition plans)."""
    due: float
    """The due point: counter value, or the limit."""
    remaining: float | None
    """Counter units left (usage plans), or forecast hours (condition plans); None: not in sight."""
    epoch: int
    message: str


def status(plan: Plan, usage: Usage, now: float, fc: Forecast | None = None) -> PlanStatus:
    """``plan``'s status from the component's ``usage`` and, for a condition plan, the
    forecast of its indicator (None: not enough windows yet)."""
    what = f"{plan.component} of {plan.machine}"
    if plan.by == "condition":
        assert plan.limit is not None
        if fc is None:
            return PlanStatus(
                plan.name,
                "unknown",
                0.0,
                plan.limit,
                None,
                usage.epoch,
                f"{plan.tag} {plan.indicator} of {plan.machine}: no trend yet",
            )
        level: Level = "ok"
        if fc.hours == 0.0:
            level = "due"
        elif (
            fc.points >= MIN_POINTS
            and fc.span_h >= plan.forecast_window_h / 2
            and (fc.slope_high < 0 if plan.falling else fc.slope_low > 0)
            and fc.hours_early is not None
            and fc.hours_early <= plan.warning
        ):
            level = "warning"
        return PlanStatus(
            plan.name, level, fc.level, plan.limit, fc.hours, usage.epoch, describe(plan, fc)
        )
    assert plan.due is not None
    value = usage.figures(now)[plan.by]
    remaining = plan.due - value
    level = "due" if remaining <= 0 else "warning" if remaining <= plan.warning else "ok"
    unit = UNITS[plan.by]
    message = f"{what}: {value:.1f} of {plan.due:g} {unit} ({level})"
    return PlanStatus(plan.name, level, value, plan.due, remaining, usage.epoch, message)


def _in(hours: float | None) -> str:
    """Hours in words: "31 h", under an hour "12 min", under a minute "40 s" (an
    accelerated demo's forecasts are minutes away)."""
    if hours is None:
        return "?"
    if round(hours) >= 1:
        return f"{hours:.0f} h"
    return f"{hours * 60:.0f} min" if round(hours * 60) >= 1 else f"{hours * 3600:.0f} s"


def describe(plan: Plan, fc: Forecast) -> str:
    """ "vibration rms of m2 predicted to reach 7.1 in 31 h (24 h-39 h)"."""
    name = f"{plan.tag} {plan.indicator} of {plan.machine.rsplit('/', 1)[-1]}"
    if fc.hours == 0.0:
        return f"{name} has reached {plan.limit:g} (trend level {fc.level:.3g})"
    if fc.hours is None:
        return f"{name} at {fc.level:.3g}, not heading for {plan.limit:g}"
    late = "never" if fc.hours_late is None else _in(fc.hours_late)
    band = f"{_in(fc.hours_early)}-{late}"
    return f"{name} predicted to reach {plan.limit:g} in {_in(fc.hours)} ({band})"
