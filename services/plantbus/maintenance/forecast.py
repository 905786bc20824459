"""Time until an indicator reaches its limit: a Theil-Sen trend with a confidence band
(pure, no dependency).

Theil-Sen: the slope is the median of the slopes between every pair of points, the
intercept the median of ``y - slope t``; up to 29 % of the points may be outliers
without moving it. The band is Sen's distribution-free confidence interval of the slope:
with N pairwise slopes sorted and C = z sqrt(n (n - 1) (2n + 5) / 18), the slopes of rank
(N - C) / 2 and (N + C) / 2 bound it (Kendall's variance without ties). The hours to the
limit follow from the level now and each slope; a slope that does not head for the limit
gives no time (``None``: not in sight).

Windows beyond ``max_points`` are first reduced to that many medians of equal runs, so a
fit costs at most ``max_points^2 / 2`` slopes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Forecast", "forecast", "theil_sen"]

_MAX_POINTS: Final = 120


@dataclass(frozen=True)
class Forecast:
    """Where an indicator is heading."""

    level: float
    """The trend's value at the last point."""
    slope_per_h: float
    slope_low: float
    slope_high: float
    hours: float | None
    """Hours from the last point until the trend reaches the limit (0: already there;
    None: the trend does not head for it)."""
    hours_early: float | None
    """The band's earliest time (the steeper slope)."""
    hours_late: float | None
    """The band's latest time (None: possibly never)."""
    points: int
    span_h: float = 0.0
    """Hours from the first point to the last."""


def _reduce(
    times: Sequence[float], values: Sequence[float], cap: int
) -> tuple[list[float], list[float]]:
    n = len(times)
    if n <= cap:
        return list(times), list(values)
    edges = [round(i * n / cap) for i in range(cap + 1)]
    pairs = [(edges[i], edges[i + 1]) for i in range(cap)]
    return (
        [statistics.median(times[a:b]) for a, b in pairs],
        [statistics.median(values[a:b]) for a, b in pairs],
    )


def _z(confidence: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


def theil_sen(
    times: Sequence[float], values: Sequence[float], confidence: float = 0.9
) -> tuple[float, float, float, float]:
    """(slope, intercept, slope_low, slope_high) of the points; needs at least 3."""
    n = len(times)
    slopes = sorted(
        (values[j] - values[i]) / (times[j] - times[i])
        for i in range(n)
        for j in range(i + 1, n)
        if times[j] != times[i]
    )
    if not slopes:
        raise ValueError("Theil-Sen needs points at two different times")
    slope = statistics.median(slopes)
    intercept = statistics.median(v - slope * t for t, v in zip(times, values, strict=True))
    c = _z(confidence) * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    count = len(slopes)
    low = slopes[max(0, min(count - 1, math.floor((count - c) / 2)))]
    high = slopes[max(0, min(count - 1, math.ceil((count + c) / 2) - 1))]
    return slope, intercept, low, high


def _hours(level: float, limit: float, slope: float, falling: bool) -> float | None:
    gap = (level - limit) if falling else (limit - level)
    if gap <= 0:
        return 0.0
    toward = -slope if falling else slope
    return gap / toward if toward > 0 else None


def forecast(
    times_h: Sequence[float],
    values: Sequence[float],
    limit: float,
    *,
    falling: bool = False,
    confidence: float = 0.9,
    max_points: int = _MAX_POINTS,
) -> Forecast | None:
    """The forecast from points (time in hours, value); None with fewer than 3 points."""
    if len(times_h) < 3:
        return None
    ts, vs = _reduce(times_h, values, max_points)
    try:
        slope, intercept, low, high = theil_sen(ts, vs, confidence)
    except ValueError:
        return None
    level = intercept + slope * times_h[-1]
    steep, shallow = (low, high) if falling else (high, low)
    return Forecast(
        level=level,
        slope_per_h=slope,
        slope_low=low,
        slope_high=high,
        hours=_hours(level, limit, slope, falling),
        hours_early=_hours(level, limit, steep, falling),
        hours_late=_hours(level, limit, shallow, falling),
        points=len(times_h),
        span_h=times_h[-1] - times_h[0],
    )
