"""Machine events: the input of the KPI engine (from telemetry, calendars and work orders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "EVENT_TYPES",
    "BreakEnd",
    "BreakStart",
    "Count",
    "Event",
    "IdealCycleTime",
    "MachineStateName",
    "ShiftEnd",
    "ShiftStart",
    "StateChange",
    "WorkOrderEnd",
    "WorkOrderStart",
]

MachineStateName = Literal["running", "stopped", "planned_stop"]


@dataclass(frozen=True, slots=True)
class _Base:
    ts: float
    """Seconds since the Unix epoch."""
    machine: str
    line: str = ""


@dataclass(frozen=True, slots=True)
class ShiftStart(_Base):
    """A shift begins: planned operation time starts counting."""

    shift: str = ""


@dataclass(frozen=True, slots=True)
class ShiftEnd(_Base):
    """The shift ends: time stops counting until the next shift."""


@dataclass(frozen=True, slots=True)
class BreakStart(_Base):
    """A planned stop from the calendar (break, planned maintenance) begins."""

    reason: str = "break"


@dataclass(frozen=True, slots=True)
class BreakEnd(_Base):
    """The planned stop from the calendar ends."""


@dataclass(frozen=True, slots=True)
class StateChange(_Base):
    """The machine changed state, with an optional reason."""

    state: MachineStateName = "running"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Count(_Base):
    """Parts made (rejects and rework included), and rejects (scrap) and parts to rework
    among them, since the previous count."""

    total: int = 0
    reject: int = 0
    rework: int = 0


@dataclass(frozen=True, slots=True)
class IdealCycleTime(_Base):
    """The ideal cycle time (ISO 22400 PRI) from now on."""

    seconds: float = 1.0


@dataclass(frozen=True, slots=True)
class WorkOrderStart(_Base):
    """A work order starts on the machine; its product's ideal cycle time applies."""

    order: str = ""
    ideal_cycle_time_s: float | None = None


@dataclass(frozen=True, slots=True)
class WorkOrderEnd(_Base):
    """The work order ends on the machine."""

    order: str = ""


Event = (
    ShiftStart
    | ShiftEnd
    | BreakStart
    | BreakEnd
    | StateChange
    | Count
    | IdealCycleTime
    | WorkOrderStart
    | WorkOrderEnd
)

EVENT_TYPES: tuple[type[Any], ...] = get_args(Event)
"""Every event class (to read saved events back by their class name)."""
