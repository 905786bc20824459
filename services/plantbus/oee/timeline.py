"""One machine's inputs in source-time order, live: a reorder window, then retroactive
correction. Pure: the caller passes the wall clock (``now``) and owns the model.

Inputs (samples and engine events) are held in a window of ``window_s`` behind the
machine's source clock (its newest sample's source time, moved on by the wall clock since
it arrived, so a device clock that runs late is no late data) and committed to the model
in source-time order. An input older than the window is *late*, judged by the clock
before it arrived (so the first sample after an outage is late once the window has moved
past it): the figures already shown for its time change. When it is older than the last
committed input, the model is put back to the last checkpoint before it and the
committed log is replayed with the input in its place. Checkpoints (every
``checkpoint_s`` of source time) and the log are kept for ``horizon_s``; an input older
than that is dropped and counted.

Inputs with the same source time keep their arrival order.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from plantbus.oee.events import Event

__all__ = ["Input", "Model", "Release", "Sample", "Timeline"]

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Sample:
    """A good sample of one of a machine's mapped tags, at its source time."""

    ts: float
    machine: str
    tag: str
    value: object


Input = Sample | Event
Key = tuple[float, int]


class Model(Protocol[S]):
    """What a timeline drives: one machine's state, applied to input by input."""

    def apply(self, item: Input) -> None:
        """Apply one input (inputs come in source-time order)."""

    def save(self) -> S:
        """A checkpoint of the state (independent of later changes)."""

    def restore(self, state: S, since: float) -> None:
        """Go back to ``state`` (a checkpoint of source time ``since``), which must stay
        usable again; the inputs from ``since`` on are applied next."""


@dataclass(frozen=True, slots=True)
class Release:
    """What one :meth:`Timeline.release` did."""

    committed: int = 0
    corrected: bool = False
    """A late input changed figures already shown (published snapshots are outdated)."""
    replayed_from: float | None = None
    """Source time from which committed figures were recomputed."""
    dropped: int = 0
    """Inputs older than the horizon, not applied."""


@dataclass
class Timeline(Generic[S]):
    """The reorder window, committed log and checkpoints of one machine."""

    model: Model[S]
    window_s: float = 2.0
    horizon_s: float = 3600.0
    checkpoint_s: float = 60.0
    max_log: int = 200_000
    """At most this many committed inputs are kept (the horizon shrinks past it)."""
    _pending: list[tuple[Key, Input]] = field(default_factory=list)
    _late: list[tuple[Key, Input]] = field(default_factory=list)
    _keys: list[Key] = field(default_factory=list)
    _items: list[Input] = field(default_factory=list)
    _checkpoints: deque[tuple[Key, S]] = field(default_factory=deque)
    _arrivals: itertools.count[int] = field(default_factory=itertools.count)
    _frontier: Key = (float("-inf"), -1)
    _newest: tuple[float, float] | None = None
    """(newest source time seen, wall clock when it arrived)."""
    _corrected: bool = False

    def clock(self, now: float) -> float:
        """The machine's source time at wall time ``now`` (the wall clock until it sent any)."""
        if self._newest is None:
            return now
        ts, wall = self._newest
        return ts + max(0.0, now - wall)

    def watermark(self, now: float) -> float:
        """Inputs up to this source time are committed; newer ones are still held."""
        return self.clock(now) - self.window_s

    def push(self, item: Input, now: float) -> bool:
        """Accept one input; True when it is late (older than the window)."""
        late = self._newest is not None and item.ts < self.watermark(now)
        if isinstance(item, Sample) and (self._newest is None or item.ts > self._newest[0]):
            self._newest = (item.ts, now)  # the machine's clock; events are on the hub's
        key = (item.ts, next(self._arrivals))
        if key < self._frontier:
            self._late.append((key, item))
        else:
            heapq.heappush(self._pending, (key, item))
        self._corrected |= late
        return late

    def oldest(self) -> float:
        """The source time from which a late input is still corrected."""
        return self._checkpoints[0][0][0] if self._checkpoints else self._frontier[0]

    def idle(self) -> bool:
        """Whether nothing is held: a :meth:`release` would do nothing."""
        return not (self._pending or self._late or self._corrected)

    def due(self, now: float) -> bool:
        """Whether a :meth:`release` at ``now`` would do anything: a late input to correct
        for, or one past the window to commit."""
        if self._late or self._corrected:
            return True
        return bool(self._pending) and self._pending[0][0][0] <= self.watermark(now)

    def held(self) -> list[Input]:
        """Every input not committed yet (saved with the state, so a restart keeps them)."""
        return [item for _, item in sorted(self._pending + self._late)]

    def hold(self, items: list[Input]) -> None:
        """Take back inputs :meth:`held` returned before a restart (not late)."""
        for item in items:
            heapq.heappush(self._pending, ((item.ts, next(self._arrivals)), item))

    def pending(self) -> Iterator[Input]:
        """Inputs held in the window, in order (for a provisional view of now)."""
        return (item for _, item in sorted(self._pending))

    def release(self, now: float) -> Release:
        """Correct for late inputs, then commit what is past the window."""
        replayed_from, dropped = None, 0
        if self._late:
            replayed_from, dropped = self._correct()
        committed = self._commit(self.watermark(now))
        corrected, self._corrected = self._corrected, False
        return Release(committed, corrected, replayed_from, dropped)

    def flush(self) -> Release:
        """Commit everything held (end of input, or a test's final figures)."""
        replayed_from, dropped = self._correct() if self._late else (None, 0)
        committed = self._commit(float("inf"))
        corrected, self._corrected = self._corrected, False
        return Release(committed, corrected, replayed_from, dropped)

    def replay_from(self, ts: float) -> bool:
        """Recompute from the last checkpoint at or before ``ts`` (after a change of
        rule the model applies, a reclassified stop); False when that is past the horizon."""
        index = self._checkpoint_before((ts, -1))
        if index is None:
            return False
        self._replay(index, [])
        return True

    def _checkpoint_before(self, key: Key) -> int | None:
        keys = [k for k, _ in self._checkpoints]
        index = bisect.bisect_right(keys, key) - 1
        return index if index >= 0 else None

    def _correct(self) -> tuple[float | None, int]:
        late, self._late = sorted(self._late), []
        index = self._checkpoint_before(late[0][0])
        if index is None:  # older than the horizon: what is still inside it is kept
            oldest = self._checkpoints[0][0] if self._checkpoints else self._frontier
            kept = [(k, i) for k, i in late if k >= oldest]
            if not kept:
                return None, len(late)
            dropped = len(late) - len(kept)
            index = self._checkpoint_before(kept[0][0])
            if index is None:  # no checkpoint at all (horizon 0)
                return None, len(late)
            return self._replay(index, kept), dropped
        return self._replay(index, late), 0

    def _replay(self, index: int, late: list[tuple[Key, Input]]) -> float:
        """Back to checkpoint ``index``; the log from there again, ``late`` merged in."""
        key, state = self._checkpoints[index]
        for _ in range(len(self._checkpoints) - index - 1):
            self._checkpoints.pop()
        start = bisect.bisect_left(self._keys, key)
        tail = list(heapq.merge(zip(self._keys[start:], self._items[start:], strict=True), late))
        del self._keys[start:], self._items[start:]
        self.model.restore(state, key[0])
        for k, item in tail:
            self._apply(k, item, checkpoint=k != key)
        return key[0]

    def _commit(self, until: float) -> int:
        count = 0
        while self._pending and self._pending[0][0][0] <= until:
            key, item = heapq.heappop(self._pending)
            self._apply(key, item, checkpoint=True)
            count += 1
        if count:
            self._prune()
        return count

    def _apply(self, key: Key, item: Input, checkpoint: bool) -> None:
        if self.horizon_s > 0:
            if not self._checkpoints:  # the state before any input: good for any late one
                self._checkpoints.append(((float("-inf"), -1), self.model.save()))
            last = self._checkpoints[-1][0][0]
            if checkpoint and item.ts >= last + self.checkpoint_s:
                self._checkpoints.append((key, self.model.save()))
            self._keys.append(key)
            self._items.append(item)
        self.model.apply(item)
        self._frontier = max(self._frontier, key)

    def _prune(self) -> None:
        """Drop checkpoints (and the log before them) the horizon no longer needs."""
        start = self._frontier[0] - self.horizon_s
        cps = self._checkpoints
        while len(cps) > 1:
            too_old = cps[1][0][0] <= start
            too_long = len(self._keys) - bisect.bisect_left(self._keys, cps[0][0]) > self.max_log
            if not (too_old or too_long):
                break
            cps.popleft()
        if cps:
            cut = bisect.bisect_left(self._keys, cps[0][0])
            if cut:
                del self._keys[:cut], self._items[:cut]
