"""``rate_of_change``: a value that moves faster than ``limit`` per second."""

from __future__ import annotations

from typing import Literal

from plantbus.config.rules.base import LimitRule

__all__ = ["RateOfChangeRule"]


class RateOfChangeRule(LimitRule):
    """Abnormal while the change per second between two good samples reaches ``limit``
    (units per second)."""

    kind: Literal["rate_of_change"]

    def beyond(self, x: float, band: float, last: tuple[float, float] | None, now: float) -> bool:
        """The rate since the previous good sample (0 for the first one)."""
        rate = 0.0
        if last is not None and now > last[1]:
            rate = abs(x - last[0]) / (now - last[1])
        return rate >= self.limit - band
