"""Cumulative counters to increments: wraps, resets, and a first reading as the baseline."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CumulativeCounter"]


@dataclass(slots=True)
class CumulativeCounter:
    """Turns successive raw readings of a counter register into part increments.

    A drop by more than half the range is a wrap (the register rolled over at
    ``modulus``); a smaller drop is a reset (the PLC zeroed it), which counts the new
    raw value as made since the reset.
    """

    modulus: int = 65536
    last: int | None = None

    def update(self, raw: int) -> int:
        """The increment since the previous reading (0 for the first one)."""
        last, self.last = self.last, raw
        if last is None:
            return 0
        if raw >= last:
            return raw - last
        if last - raw > self.modulus // 2:
            return raw + self.modulus - last
        return raw
