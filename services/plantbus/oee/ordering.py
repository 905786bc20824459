"""Tolerating real event streams: out-of-order arrival within a window, and duplicates.

Events are held for ``tolerance_s`` (by event time) and released in time order; an
exact duplicate of an event still in the window is dropped; an event older than what
was already released is late and reported, not applied.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from plantbus.oee.events import Event

__all__ = ["Reorderer"]


@dataclass
class Reorderer:
    """A time-ordered release buffer with duplicate detection."""

    tolerance_s: float = 5.0
    duplicates: int = 0
    late: list[Event] = field(default_factory=list)
    _heap: list[tuple[float, int, Event]] = field(default_factory=list)
    _seen: set[Event] = field(default_factory=set)
    _released_ts: float = float("-inf")
    _max_ts: float = float("-inf")
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def push(self, event: Event) -> list[Event]:
        """Accept one event; return those now safe to apply, in time order."""
        if event in self._seen:
            self.duplicates += 1
            return []
        if event.ts < self._released_ts:
            self.late.append(event)
            return []
        self._seen.add(event)
        heapq.heappush(self._heap, (event.ts, next(self._order), event))
        self._max_ts = max(self._max_ts, event.ts)
        return self._release(self._max_ts - self.tolerance_s)

    def flush(self) -> list[Event]:
        """Everything still held, in time order (end of input)."""
        return self._release(float("inf"))

    def _release(self, until: float) -> list[Event]:
        out = []
        while self._heap and self._heap[0][0] <= until:
            ts, _, event = heapq.heappop(self._heap)
            self._released_ts = ts
            out.append(event)
        horizon = self._released_ts - self.tolerance_s
        if len(self._seen) > 4 * (len(self._heap) + 1024):
            self._seen = {e for e in self._seen if e.ts >= horizon}
        return out
