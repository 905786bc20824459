"""OEE mappings (which tags say state and counts) and shift calendars (owned by the OEE service)."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["Break", "OeeMapping", "Shift", "ShiftCalendar", "StateValue"]

MachineState = Literal["running", "stopped", "planned_stop"]


class StateValue(Strict):
    """How one value of the state tag maps to an OEE state and a reason."""

    value: int | bool | str
    state: MachineState
    reason: str = ""
    """Default reason for this state; a reason tag, when mapped, overrides it."""


class OeeMapping(Strict):
    """Which tags of a machine feed its OEE."""

    machine: str
    """Path site/area/line/machine."""
    state_tag: Name
    states: list[StateValue]
    total_tag: Name | None = None
    """Part counter: every part made, rejects included."""
    reject_tag: Name | None = None
    counter_mode: Literal["cumulative", "increment"] = "cumulative"
    counter_modulus: int = Field(default=65536, gt=1)
    """A cumulative counter wraps to 0 after modulus - 1 (65536 for a uint16 register)."""
    reason_tag: Name | None = None
    reason_codes: dict[int, str] = Field(default_factory=dict)
    ideal_cycle_time_s: float = Field(default=1.0, gt=0)
    """Default ideal cycle time (ISO 22400 PRI); a work order's product overrides it."""


class Break(Strict):
    """A planned break inside a shift (counts as planned downtime)."""

    start: time
    end: time


class Shift(Strict):
    """A shift, by local wall-clock times; an end before the start runs past midnight."""

    name: Name
    start: time
    end: time
    breaks: list[Break] = Field(default_factory=list)


class ShiftCalendar(Strict):
    """Shifts of a set of lines, in one time zone, with holidays."""

    name: Name
    timezone: str = "UTC"
    lines: list[str] = Field(default_factory=list)
    """Line paths site/area/line this calendar applies to."""
    shifts: list[Shift]
    holidays: list[date] = Field(default_factory=list)
