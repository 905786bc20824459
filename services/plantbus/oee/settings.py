"""The engine's loss model (from the plant config's ``oee_settings``) and what it hands
out when a shift or work order ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plantbus.config.oee import OeeSettings
from plantbus.oee.kpi import Totals
from plantbus.oee.reasons import ReasonTree

__all__ = ["Closed", "EngineSettings"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Site parameters of the loss model."""

    minor_stop_s: float = 300.0
    """Unplanned stops shorter than this are minor stops (a performance loss)."""
    startup_window_s: float = 0.0
    """Rejects within this long after a stop ends count as reduced yield (start-up)."""
    setup_reasons: frozenset[str] = frozenset({"setup", "changeover", "adjustment"})
    default_ideal_cycle_s: float = 1.0
    reason_refine_s: float = 5.0
    """A reason that arrives this soon after a stop began relabels it instead of starting a
    new stop (PLCs often write the state register before the reason register)."""
    reasons: ReasonTree = field(default_factory=ReasonTree)
    """Reasons are booked by their path in the tree; a planned one makes a stop planned,
    and a node's loss class overrides the rules."""

    @classmethod
    def of(cls, config: OeeSettings) -> EngineSettings:
        """The loss model of the plant config's ``oee_settings``."""
        return cls(
            minor_stop_s=config.minor_stop_s,
            startup_window_s=config.startup_window_s,
            setup_reasons=frozenset(config.setup_reasons),
            reasons=ReasonTree.of(config.reasons),
        )


@dataclass(frozen=True, slots=True)
class Closed:
    """The final totals of a shift or work order of a machine, when it ended."""

    machine: str
    line: str
    kind: Literal["shift", "work_order"]
    key: str
    totals: Totals
    ts: float
