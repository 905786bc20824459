"""``rate_of_change``: a value that moves faster than ``limit`` per second."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plantbus.config.rules.base import TagRule, number

__all__ = ["RateOfChangeRule"]


class RateOfChangeRule(TagRule):
    """Abnormal while the change per second between two good samples reaches ``limit``."""

    kind: Literal["rate_of_change"]
    limit: float
    """Units per second."""
    deadband: float = Field(default=0.0, ge=0)

    @property
    def shown_limit(self) -> float:
        """The limit."""
        return self.limit

    def judge_sample(
        self, good: bool, value: object, last: tuple[float, float] | None, now: float, active: bool
    ) -> bool | None:
        """The rate since the previous good sample (0 for the first one)."""
        x = number(value)
        if not good or x is None:
            return None
        rate = 0.0
        if last is not None and now > last[1]:
            rate = abs(x - last[0]) / (now - last[1])
        return rate >= self.limit - (self.deadband if active else 0.0)
