"""OEE mappings (which tags say state and counts) and shift calendars (owned by the OEE service)."""

from __future__ import annotations

from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from plantbus.config.base import Name, Strict

__all__ = [
    "Break",
    "OeeMapping",
    "OeeSettings",
    "ReasonNode",
    "Shift",
    "ShiftCalendar",
    "StateValue",
]

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
    """Scrap counter (ISO 22400 SQ): parts made that are not good."""
    rework_tag: Name | None = None
    """Rework counter (ISO 22400 RQ): parts made that need rework before they are good
    (not counted among the rejects; they lower the first-pass yield, not the quality)."""
    counter_mode: Literal["cumulative", "increment"] = "cumulative"
    counter_modulus: int = Field(default=65536, gt=1)
    """A cumulative counter wraps to 0 after modulus - 1 (65536 for a uint16 register)."""
    reason_tag: Name | None = None
    reason_codes: dict[int, str] = Field(default_factory=dict)
    ideal_cycle_time_s: float = Field(default=1.0, gt=0)
    """Default ideal cycle time (ISO 22400 PRI); a work order's product overrides it."""


class Break(Strict):
    """A planned stop inside a shift (counts as planned downtime under its reason)."""

    start: time
    end: time
    reason: Name = "break"
    """The planned-downtime reason its time is booked under (``lunch``, ``cleaning``)."""


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
    """Days whose shifts do not run (a shift belongs to the day it starts on)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or UTC"
            ) from None
        return name


StopLoss = Literal["breakdowns", "setup_adjustments", "minor_stops"]
REASON_LEVELS = 3
"""category / reason / detail."""


class ReasonNode(Strict):
    """A downtime reason code in the reason tree: a category, a reason or a detail."""

    name: Name
    planned: bool | None = None
    """A stop under this reason is planned downtime; unset: as its parent (unplanned at
    the top)."""
    loss: StopLoss | None = None
    """The Six Big Losses class of a stop under this reason; unset: as its parent, and at
    the top by the rules (setup_reasons, else the minor-stop threshold)."""
    children: list[ReasonNode] = Field(default_factory=list)


class OeeSettings(Strict):
    """The site's loss model and how the live service treats late data (section
    ``oee_settings``); the defaults are the values the engine used before they could be set."""

    minor_stop_s: float = Field(default=300.0, ge=0)
    """Unplanned stops shorter than this are minor stops (a performance loss), longer
    ones breakdowns (availability); published practice is 5 or 10 minutes."""
    startup_window_s: float = Field(default=0.0, ge=0)
    """Rejects counted within this long after a machine starts running count as reduced
    yield (start-up rejects) instead of process defects; 0 turns it off."""
    setup_reasons: list[Name] = Field(default_factory=lambda: ["setup", "changeover", "adjustment"])
    """Stop reasons that count as setup and adjustments (ISO 22400 AUST)."""
    reorder_window_s: float = Field(default=2.0, ge=0, le=60)
    """Samples are held this long (by source time) and applied in source-time order, so
    samples of one machine arriving from several devices or batches need no correction."""
    correction_horizon_s: float = Field(default=3600.0, ge=0, le=86400)
    """How far back a late sample still corrects the figures (they are recomputed from
    the machine's event log, kept this long in memory); older ones are counted as dropped."""
    max_clock_ahead_s: float = Field(default=86400.0, gt=0)
    """A sample whose source time is further ahead of the hub's clock is skipped and
    counted (health): one wrong timestamp (a PLC clock set to 2097) would move the
    machine's clock ahead and make every later sample late. A device clock ahead of the
    hub by less is followed, as one behind is."""
    reasons: list[ReasonNode] = Field(default_factory=list)
    """The downtime reason tree (category / reason / detail); names are unique in it, so
    a reason code can name a node alone (``feeder``) or by its path
    (``mechanical/jam/feeder``)."""

    @field_validator("reasons")
    @classmethod
    def _tree(cls, nodes: list[ReasonNode]) -> list[ReasonNode]:
        seen: dict[str, str] = {}

        def walk(level: list[ReasonNode], parent: str, depth: int) -> None:
            for node in level:
                path = f"{parent}/{node.name}" if parent else node.name
                if depth > REASON_LEVELS:
                    raise ValueError(
                        f"reason {path!r} is {depth} levels deep; the tree has at most "
                        f"{REASON_LEVELS} (category / reason / detail)"
                    )
                if node.name in seen:
                    raise ValueError(
                        f"reason name {node.name!r} is used twice ({seen[node.name]} and "
                        f"{path}): names must be unique in the tree"
                    )
                seen[node.name] = path
                walk(node.children, path, depth + 1)

        walk(nodes, "", 1)
        return nodes

    @field_validator("setup_reasons")
    @classmethod
    def _distinct(cls, reasons: list[str]) -> list[str]:
        doubled = sorted({r for r in reasons if reasons.count(r) > 1})
        if doubled:
            raise ValueError(f"setup_reasons lists {', '.join(doubled)} more than once")
        return reasons

    @model_validator(mode="after")
    def _horizon(self) -> OeeSettings:
        if 0 < self.correction_horizon_s < self.reorder_window_s:
            raise ValueError(
                f"correction_horizon_s ({self.correction_horizon_s:g}) is shorter than "
                f"reorder_window_s ({self.reorder_window_s:g}): make it longer, or 0 to "
                "drop every sample later than the window"
            )
        return self
