"""ISA-18.2 performance metrics and flood detection over alarm activations (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from plantbus.alerting.lifecycle import Alarm

__all__ = ["FloodDetector", "Metrics", "area_of", "metrics"]

STALE_S = 24 * 3600.0


def area_of(scope: str) -> str:
    """site/area of a machine or line path."""
    return "/".join(scope.split("/")[:2])


@dataclass
class FloodDetector:
    """A flood starts with more than ``start`` new alarms in ``window_s`` in an area and
    ends when the window holds fewer than ``end``."""

    window_s: float = 600.0
    start: int = 10
    end: int = 5
    times: dict[str, list[float]] = field(default_factory=dict)
    flooding: set[str] = field(default_factory=set)

    def annunciated(self, area: str, now: float) -> None:
        """Count one new alarm in ``area``."""
        self.times.setdefault(area, []).append(now)

    def update(self, now: float) -> dict[str, bool]:
        """Areas whose flood state changed: area -> flooding now."""
        changes = {}
        for area, times in self.times.items():
            times[:] = [t for t in times if now - t < self.window_s]
            if area not in self.flooding and len(times) > self.start:
                self.flooding.add(area)
                changes[area] = True
            elif area in self.flooding and len(times) < self.end:
                self.flooding.discard(area)
                changes[area] = False
        return changes


@dataclass
class Metrics:
    """The numbers an alarm-management review starts from."""

    per_hour_by_area: dict[str, int]
    standing: list[str]
    stale: list[str]
    chattering: list[str]
    top_frequent: list[tuple[str, int]]


def metrics(alarms: Iterable[Alarm], now: float) -> Metrics:
    """Metrics over the last hour of activations."""
    per_area: dict[str, int] = {}
    counts, standing, stale, chattering = [], [], [], []
    for alarm in alarms:
        recent = [t for t in alarm.activations if now - t < 3600]
        per_area[area_of(alarm.scope)] = per_area.get(area_of(alarm.scope), 0) + len(recent)
        if recent:
            counts.append((alarm.id, len(recent)))
        if alarm.active:
            standing.append(alarm.id)
            if now - alarm.changed_at > STALE_S:
                stale.append(alarm.id)
        if any(sum(1 for u in recent if 0 <= u - t < 60) >= 3 for t in recent):
            chattering.append(alarm.id)
    counts.sort(key=lambda c: (-c[1], c[0]))
    return Metrics(per_area, sorted(standing), sorted(stale), sorted(chattering), counts[:10])
