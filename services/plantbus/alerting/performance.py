"""Alarm-system performance over a time range, per ISA-18.2 and EEMUA 191 (pure).

Input: the alarm state changes of the range, as published (and kept by the historian).
An *annunciation* is a change to ``unacknowledged`` (a new alarm, a re-alarm, or one that
comes back after shelving or suppression); that is what loads an operator. An
*activation* is a change whose condition is active after one whose condition was not (or
the alarm's first change in the range). Rates are counted per operator position over
fixed periods of the clock (10:00, 10:10, ...; the first and last may lie partly outside
the range); a flood runs from the annunciation that puts more than ``flood_start`` in the
trailing period until one leaving it drops the count below ``flood_end``, as the live
flood alarm does. The flood alarm itself is not counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from plantbus.config.alarms import AlarmManagement

__all__ = ["Change", "Performance", "PositionFigures", "performance"]

FLOOD_RULE = "alarm_flood"
UNACK = "unacknowledged"
HIDDEN = frozenset({"shelved", "suppressed", "out_of_service"})


@dataclass(frozen=True)
class Change:
    """One alarm state change."""

    time: float
    id: str
    scope: str
    state: str
    active: bool
    priority: str


@dataclass
class PositionFigures:
    """The load on one operator position."""

    position: str
    annunciated: int
    periods: int
    periods_above: int
    peak: int
    """Most alarms in one period."""
    peak_start: float
    floods: int
    flood_s: float
    range_s: float

    @property
    def per_period(self) -> float:
        """Average alarms per period."""
        return self.annunciated / self.periods if self.periods else 0.0

    @property
    def per_hour(self) -> float:
        """Average alarms per hour."""
        return self.annunciated * 3600 / self.range_s if self.range_s else 0.0

    @property
    def share_above(self) -> float:
        """Share of periods with more alarms than the limit."""
        return self.periods_above / self.periods if self.periods else 0.0

    @property
    def share_in_flood(self) -> float:
        """Share of the range spent in flood."""
        return self.flood_s / self.range_s if self.range_s else 0.0


@dataclass
class Performance:
    """Every figure of one range."""

    start: float
    end: float
    annunciated: int
    positions: list[PositionFigures]
    priorities: dict[str, int]
    standing: list[tuple[str, float]]
    """Alarms active and annunciated at the end, with since when (at least)."""
    stale: list[str]
    chattering: list[str]
    fleeting: list[tuple[str, int]]
    bad_actors: list[tuple[str, int]]
    hidden: dict[str, str] = field(default_factory=dict)
    """Alarms shelved, suppressed or out of service at the end -> that state."""

    @property
    def top_share(self) -> float:
        """Share of all annunciations made by the listed bad actors."""
        return sum(n for _, n in self.bad_actors) / self.annunciated if self.annunciated else 0.0


def _flood_seconds(
    times: Sequence[float], limits: AlarmManagement, end: float
) -> tuple[int, float]:
    """(floods, seconds in flood) of sorted annunciation times, a flood clipped at ``end``."""
    window = limits.period_s
    moves = sorted([(t, 1) for t in times] + [(t + window, 0) for t in times])
    count, began, floods, total = 0, None, 0, 0.0
    for when, arrival in moves:  # a departure sorts before an arrival at the same instant
        if when >= end:
            break
        count += 1 if arrival else -1
        if began is None and arrival and count > limits.flood_start:
            began, floods = when, floods + 1
        elif began is not None and not arrival and count < limits.flood_end:
            total += when - began
            began = None
    if began is not None:
        total += end - began
    return floods, total


def _position(
    name: str, times: Sequence[float], start: float, end: float, limits: AlarmManagement
) -> PositionFigures:
    width = limits.period_s
    first = math.floor(start / width)
    periods = max(1, math.ceil(end / width) - first)
    per = Counter(math.floor(t / width) for t in times)
    peak_index, peak = max(per.items(), key=lambda kv: (kv[1], -kv[0]), default=(first, 0))
    floods, flood_s = _flood_seconds(times, limits, end)
    return PositionFigures(
        position=name,
        annunciated=len(times),
        periods=periods,
        periods_above=sum(1 for n in per.values() if n > limits.period_limit),
        peak=peak,
        peak_start=peak_index * width,
        floods=floods,
        flood_s=flood_s,
        range_s=end - start,
    )


def _chatters(times: Sequence[float], limits: AlarmManagement) -> bool:
    n = limits.chatter_count
    return any(
        times[i + n - 1] - times[i] <= limits.chatter_window_s for i in range(len(times) - n + 1)
    )


def performance(
    changes: Iterable[Change],
    start: float,
    end: float,
    position_of: Callable[[str], str],
    limits: AlarmManagement,
) -> Performance:
    """The figures of the changes in [start, end)."""
    inside = sorted((c for c in changes if start <= c.time < end), key=lambda c: c.time)
    by_position: dict[str, list[float]] = {}
    priorities: Counter[str] = Counter()
    actors: Counter[str] = Counter()
    activations: dict[str, list[float]] = {}
    fleeting: Counter[str] = Counter()
    last: dict[str, Change] = {}
    since: dict[str, float] = {}
    for c in inside:
        if c.id.startswith(f"{FLOOD_RULE}@"):
            continue
        before = last.get(c.id)
        if c.state == UNACK:
            by_position.setdefault(position_of(c.scope), []).append(c.time)
            priorities[c.priority] += 1
            actors[c.id] += 1
        if c.active and before is None and c.state != UNACK:
            since[c.id] = start  # active since before the range
        elif c.active and (before is None or not before.active):
            activations.setdefault(c.id, []).append(c.time)
            since[c.id] = c.time
        elif not c.active and before is not None and before.active:
            began = activations.get(c.id, [None])[-1]
            if began is not None and c.time - began < limits.fleeting_s:
                fleeting[c.id] += 1
        last[c.id] = c
    standing = sorted(
        (i, since.get(i, start)) for i, c in last.items() if c.active and c.state not in HIDDEN
    )
    ranked = sorted(actors.items(), key=lambda kv: (-kv[1], kv[0]))
    return Performance(
        start=start,
        end=end,
        annunciated=sum(actors.values()),
        positions=[_position(p, t, start, end, limits) for p, t in sorted(by_position.items())],
        priorities=dict(priorities),
        standing=standing,
        stale=[i for i, t in standing if end - t > limits.stale_s],
        chattering=sorted(i for i, t in activations.items() if _chatters(t, limits)),
        fleeting=sorted(fleeting.items()),
        bad_actors=ranked[: limits.top],
        hidden={i: c.state for i, c in sorted(last.items()) if c.state in HIDDEN},
    )
