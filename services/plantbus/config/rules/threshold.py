"""``high``, ``low``, ``high_high``, ``low_low``: a good sample beyond a limit, with a
deadband on the way back."""

from __future__ import annotations

from typing import Literal

from plantbus.config.rules.base import LimitRule

__all__ = ["ThresholdRule"]


class ThresholdRule(LimitRule):
    """Abnormal while the value is at or beyond ``limit``."""

    kind: Literal["high", "low", "high_high", "low_low"]

    def beyond(self, x: float, band: float, last: tuple[float, float] | None, now: float) -> bool:
        """At or above (high) or below (low) the limit."""
        if self.kind in ("high", "high_high"):
            return x >= self.limit - band
        return x <= self.limit + band
