"""``high``, ``low``, ``high_high``, ``low_low``: a good sample beyond a limit, with a
deadband on the way back."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plantbus.config.rules.base import TagRule, number

__all__ = ["ThresholdRule"]


class ThresholdRule(TagRule):
    """Abnormal while the value is at or beyond ``limit``."""

    kind: Literal["high", "low", "high_high", "low_low"]
    limit: float
    deadband: float = Field(default=0.0, ge=0)

    @property
    def shown_limit(self) -> float:
        """The limit."""
        return self.limit

    def judge_sample(
        self, good: bool, value: object, last: tuple[float, float] | None, now: float, active: bool
    ) -> bool | None:
        """Beyond the limit, which moves back by the deadband once active."""
        x = number(value)
        if not good or x is None:
            return None
        band = self.deadband if active else 0.0
        if self.kind in ("high", "high_high"):
            return x >= self.limit - band
        return x <= self.limit + band
