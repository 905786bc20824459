"""Condition indicators of one tag over tumbling windows (pure, one pass, O(1) per sample).

A window covers ``[k * width, (k + 1) * width)`` of source time, so a replay after a
restart cuts the same windows. Only samples taken while the machine is in one of the
monitor's states count; a change of state closes the window early (its samples are all
of one state). Sums are kept relative to the window's first sample and first value, so
a large mean with a small spread loses no precision:

- mean = x0 + S/n, std = sqrt(max(0, Sxx/n - (S/n)^2)) (population), rms = sqrt(mean^2 + std^2)
- peak = max |x|
- slope (units per hour) = 3600 (n Sux - Su S) / (n Suu - Su^2), least squares over time.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from plantbus.sdk.maintenance import Window

__all__ = ["WindowAccumulator"]


class WindowAccumulator:
    """One monitored tag: feed samples with :meth:`add`, get each window as it closes."""

    __slots__ = (
        "_end",
        "_n",
        "_peak",
        "_s",
        "_state",
        "_su",
        "_suu",
        "_sux",
        "_sxx",
        "_t0",
        "_tl",
        "_x0",
        "min_samples",
        "states",
        "tag",
        "width",
    )

    def __init__(self, tag: str, width_s: float, states: Collection[str], min_samples: int = 2):
        self.tag = tag
        self.width = float(width_s)
        self.states = frozenset(states)
        self.min_samples = max(2, min_samples)
        self._n = 0
        self._end = -math.inf
        self._state = ""
        self._t0 = self._tl = self._x0 = 0.0
        self._s = self._sxx = self._su = self._suu = self._sux = self._peak = 0.0

    def add(self, t: float, x: float, state: str) -> Window | None:
        """Take the sample ``x`` at ``t`` (Unix seconds) taken in machine state ``state``;
        the window it closed, if any. Samples must come in time order per tag (a late one
        is dropped)."""
        closed = None
        if self._n and (t >= self._end or state != self._state):
            closed = self.close()
        if state not in self.states or t < self._tl:
            return closed
        if not self._n:
            self._end = (math.floor(t / self.width) + 1) * self.width
            self._t0, self._x0, self._state = t, x, state
            self._s = self._sxx = self._su = self._suu = self._sux = 0.0
            self._peak = abs(x)
        u, d = t - self._t0, x - self._x0
        self._n += 1
        self._s += d
        self._sxx += d * d
        self._su += u
        self._suu += u * u
        self._sux += u * d
        self._tl = t
        if x > self._peak or -x > self._peak:
            self._peak = abs(x)
        return closed

    def close(self) -> Window | None:
        """End the open window now (a state change, a stop); it is returned if it has
        enough samples."""
        n = self._n
        self._n = 0
        if n < self.min_samples:
            return None
        mean_d = self._s / n
        var = max(0.0, self._sxx / n - mean_d * mean_d)
        mean = self._x0 + mean_d
        spread = n * self._suu - self._su * self._su
        slope = 3600.0 * (n * self._sux - self._su * self._s) / spread if spread > 0 else 0.0
        return Window(
            tag=self.tag,
            state=self._state,
            start=self._t0,
            end=self._tl,
            count=n,
            mean=mean,
            rms=math.sqrt(mean * mean + var),
            std=math.sqrt(var),
            peak=self._peak,
            slope=slope,
        )
