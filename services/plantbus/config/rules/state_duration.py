"""``state_duration``: a machine held in one state too long (stopped for 10 minutes)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plantbus.config.rules.base import MachineRule, TickView

__all__ = ["StateDurationRule"]


class StateDurationRule(MachineRule):
    """Abnormal once the machine has been in ``state`` for more than ``limit`` seconds."""

    kind: Literal["state_duration"]
    state: Literal["running", "stopped", "planned_stop"] = "stopped"
    limit: float = Field(gt=0)
    """Seconds."""

    @property
    def shown_limit(self) -> float:
        """The limit in seconds."""
        return self.limit

    def judge_tick(self, view: TickView, now: float) -> bool:
        """Held longer than the limit."""
        return view.seconds_in_state(self.machine, self.state, now) > self.limit
