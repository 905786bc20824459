"""What a historian store keeps: samples, events, write batches, buckets (times are int64
microseconds since the Unix epoch, UTC), and the event query every store answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

__all__ = [
    "GOOD",
    "HOUR_US",
    "MINUTE_US",
    "Bucket",
    "Cutoffs",
    "Event",
    "EventQuery",
    "Sample",
    "WriteBatch",
    "stored_sample",
]

MINUTE_US: Final = 60_000_000
HOUR_US: Final = 3_600_000_000
GOOD: Final = 1
"""The quality code of a good sample (``plantbus.v1.Quality.QUALITY_GOOD``)."""


class Sample(NamedTuple):
    """One sample of one tag, as stored."""

    tag: str
    """The tag path site/area/line/machine/tag."""
    time_us: int
    """Source time: when the device produced or read the value."""
    value: float | None
    """The numeric value (booleans and integers as floats); None for text or no value."""
    text: str | None
    """The value of a text tag; None otherwise."""
    quality: int
    """``plantbus.v1.Quality`` code: 1 good, 2 uncertain, 3 bad, 0 unspecified."""
    receive_us: int
    """When Plantbus received it."""


class Event(NamedTuple):
    """One event (OEE snapshot, downtime, alarm change, work order, confirmation)."""

    kind: str
    """``oee``, ``downtime``, ``alarm``, ``work_order`` or ``confirmation``."""
    scope: str
    """The machine or line path it belongs to."""
    time_us: int
    key: str
    """What it is about: the alarm id, downtime id, work order id."""
    data: bytes
    """The protobuf message as published."""


@dataclass(frozen=True)
class WriteBatch:
    """What one :meth:`HistorianStore.write` stores, all or nothing."""

    samples: Sequence[Sample] = ()
    events: Sequence[Event] = ()
    positions: Mapping[str, int] = field(default_factory=dict)
    """Stream name -> the last stream sequence these rows include."""


class Bucket(NamedTuple):
    """The aggregate of one tag's samples in one bucket (see the module docstring); the
    field order is the order stores keep them in, so ``Bucket._make(row)`` builds one."""

    start_us: int
    samples: int = 0
    good: int = 0
    valued: int = 0
    min: float | None = None
    max: float | None = None
    sum: float = 0.0
    area: float = 0.0
    covered_us: int = 0
    first: float | None = None
    first_us: int = 0
    last: float | None = None
    last_us: int = 0

    @property
    def mean(self) -> float | None:
        """The arithmetic mean of the numeric values."""
        return self.sum / self.valued if self.valued else None

    @property
    def time_weighted_mean(self) -> float | None:
        """The mean of the values weighted by how long each held."""
        return self.area / self.covered_us if self.covered_us else None

    @property
    def good_fraction(self) -> float:
        """The share of good samples (0 for an empty bucket)."""
        return self.good / self.samples if self.samples else 0.0


def stored_sample(tag: str, row: Sequence[Any]) -> Sample:
    """A :class:`Sample` from a row ``(time, value, text, quality, receive offset)``, the
    receive time kept as an offset from the source time (the built-in stores' layout)."""
    return Sample(tag, row[0], row[1], row[2], row[3], row[0] + row[4])


class EventQuery(NamedTuple):
    """Which events :meth:`HistorianStore.events` returns (one page of them)."""

    kinds: Sequence[str]
    """The kinds; all when empty."""
    scope: str
    """The scope itself and everything under it; all when empty."""
    start_us: int
    end_us: int
    after: tuple[int, int] = (0, 0)
    """(time, store id) of the previous page's last event."""

    def where(self, mark: str) -> tuple[str, list[Any]]:
        """A SQL condition on columns ``t``, ``id``, ``kind`` and ``scope``, with
        parameters written as ``mark`` (``?`` for sqlite3, ``%s`` for psycopg), and its
        parameters: what a SQL store needs to answer it by a (time, id) index."""
        where = [f"t >= {mark}", f"t < {mark}", f"(t, id) > ({mark}, {mark})"]
        params: list[Any] = [self.start_us, self.end_us, *self.after]
        if self.kinds:
            where.append(f"kind IN ({', '.join([mark] * len(self.kinds))})")
            params.extend(self.kinds)
        if self.scope:
            where.append(f"(scope = {mark} OR substr(scope, 1, {mark}) = {mark})")
            params.extend([self.scope, len(self.scope) + 1, f"{self.scope}/"])
        return " AND ".join(where), params


class Cutoffs(NamedTuple):
    """What :meth:`HistorianStore.expire` deletes: what is older than these times."""

    samples_us: int
    rollups_us: Mapping[int, int]
    """Rollup width -> cut-off."""
    events_us: Mapping[str, int]
    """Event kind -> cut-off."""
