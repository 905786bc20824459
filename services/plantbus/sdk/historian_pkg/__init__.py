"""The historian store interface (entry-point group ``plantbus.historian_stores``).

A store keeps what the historian service hands it: raw samples, the minute and hour
rollups it maintains from them, events, and the stream positions those rows came from.
The service owns consuming, batching, retention times and query planning; a store owns
durable, atomic writes and fast reads. docs/historian.md walks through writing one, and
:mod:`plantbus.testing.historian_kit` is the conformance suite every store must pass.

Times are int64 microseconds since the Unix epoch (UTC) throughout. The aggregate
semantics are defined here once, as pure functions (:func:`summarize`, :func:`combine`),
and a store's results must equal theirs:

- a bucket covers ``[start, start + width)``; buckets align on ``start`` (rollups on
  the epoch: every minute and every hour);
- ``samples`` counts samples, bad ones included; ``good`` those of good quality;
  ``valued`` those with a numeric value; min, max, sum over the numeric values;
- time weighting: a value holds until the tag's next sample (whatever its quality), at
  most to the end of its bucket; a sample without a value holds nothing. ``area`` is the
  integral of value over held time, ``covered_us`` the held time;
- ``first``/``last`` are the values of the bucket's first and last sample (None when
  that sample had no value).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from plantbus.sdk.errors import PlantbusError
from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = [
    "GOOD",
    "HOUR_US",
    "MINUTE_US",
    "Bucket",
    "Event",
    "HistorianStore",
    "Sample",
    "StoreContext",
    "StoreFull",
    "StoreUnavailable",
    "WriteBatch",
    "combine",
    "summarize",
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


@dataclass(frozen=True)
class StoreContext:
    """What the historian gives a store."""

    data_dir: Path
    """A directory the store may keep its files in (an embedded store's database)."""
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("plantbus.historian"))


class StoreUnavailable(PlantbusError):
    """Raised by a store when it cannot read or write right now (server down, locked);
    the historian keeps the batch, reports the reason in its health and retries."""

    reason = "HISTORIAN_STORE_UNAVAILABLE"
    retryable = True


class StoreFull(StoreUnavailable):
    """Raised by a store when its disk or quota is full; nothing of the batch was kept."""

    reason = "HISTORIAN_STORE_FULL"


class HistorianStore(Plugin[SettingsT], abc.ABC):
    """Base class of historian stores; the historian opens one per process.

    Every method but ``__init__`` may do I/O. The historian calls ``write`` from one task
    at a time; reads may run concurrently with a write and with each other.
    """

    def __init__(self, settings: SettingsT, context: StoreContext) -> None:
        """Store validated settings and the context. Must not perform I/O."""
        self.settings = settings
        self.context = context

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect or open files and create the schema when missing."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything; safe to call twice and after a failed ``open``."""

    @abc.abstractmethod
    async def position(self, stream: str) -> int:
        """The last stream sequence committed by ``write`` for ``stream`` (0 when none)."""

    @abc.abstractmethod
    async def write(self, batch: WriteBatch) -> None:
        """Store ``batch`` in one transaction: its samples (a sample with the tag and time
        of a stored one replaces it), the minute and hour rollups of every bucket they
        touch, recomputed from the raw samples, its events and its positions. Raise
        :class:`StoreFull` or :class:`StoreUnavailable` with nothing kept when it fails."""

    @abc.abstractmethod
    async def tags(self) -> list[str]:
        """Every tag path that has samples or rollups, sorted."""

    @abc.abstractmethod
    async def samples(
        self, tag: str, start_us: int, end_us: int, limit: int, after_us: int | None = None
    ) -> list[Sample]:
        """Up to ``limit`` raw samples of ``tag`` in [start, end), oldest first; with
        ``after_us``, only those later than it (paging)."""

    @abc.abstractmethod
    async def around(self, tag: str, time_us: int) -> tuple[Sample | None, Sample | None]:
        """The last sample at or before ``time_us`` and the first one after it."""

    @abc.abstractmethod
    async def aggregate(self, tag: str, start_us: int, end_us: int, width_us: int) -> list[Bucket]:
        """Buckets ``[start + k * width, ...)`` of ``tag`` computed from the raw samples in
        [start, end) (``end - start`` is a multiple of ``width``); empty ones left out."""

    @abc.abstractmethod
    async def rollups(self, tag: str, width_us: int, start_us: int, end_us: int) -> list[Bucket]:
        """The stored rollups of ``tag`` (``width_us`` is MINUTE_US or HOUR_US) that start
        in [start, end), oldest first."""

    @abc.abstractmethod
    async def events(
        self,
        kinds: Sequence[str],
        scope: str,
        start_us: int,
        end_us: int,
        limit: int,
        after: tuple[int, int] = (0, 0),
    ) -> list[tuple[int, Event]]:
        """Up to ``limit`` events of ``kinds`` (all when empty) whose scope is ``scope`` or
        under it (all when empty), in [start, end), ordered by (time, id); each with the
        store's id for it. ``after`` = (time, id) of the previous page's last event."""

    @abc.abstractmethod
    async def expire(
        self,
        samples_before_us: int,
        rollups_before_us: Mapping[int, int],
        events_before_us: Mapping[str, int],
    ) -> int:
        """Delete samples older than ``samples_before_us``, rollups (by width) and events
        (by kind) older than theirs; return how many rows went."""

    async def size_bytes(self) -> int:
        """Bytes the store takes on disk, where it can tell (0 otherwise)."""
        return 0


def _hold_end(next_us: int | None, bucket_end: int) -> int:
    return bucket_end if next_us is None else min(next_us, bucket_end)


def summarize(series: Sequence[Sample], start_us: int, end_us: int, width_us: int) -> list[Bucket]:
    """The reference aggregate: buckets of one tag's ``series`` (every sample of the tag,
    sorted by time) over [start, end), empty ones left out."""
    buckets: dict[int, Bucket] = {}
    for i, s in enumerate(series):
        if not start_us <= s.time_us < end_us:
            continue
        b_start = start_us + (s.time_us - start_us) // width_us * width_us
        nxt = series[i + 1].time_us if i + 1 < len(series) else None
        held = _hold_end(nxt, b_start + width_us) - s.time_us
        b = buckets.get(b_start) or Bucket(b_start, first=s.value, first_us=s.time_us)
        v = s.value
        buckets[b_start] = b._replace(
            samples=b.samples + 1,
            good=b.good + (s.quality == GOOD),
            valued=b.valued + (v is not None),
            min=b.min if v is None else v if b.min is None else min(b.min, v),
            max=b.max if v is None else v if b.max is None else max(b.max, v),
            sum=b.sum + (v or 0.0),
            area=b.area + (v * held if v is not None else 0.0),
            covered_us=b.covered_us + (held if v is not None else 0),
            last=v,
            last_us=s.time_us,
        )
    return [buckets[k] for k in sorted(buckets)]


def combine(
    children: Iterable[Bucket], child_width_us: int, start_us: int, width_us: int
) -> list[Bucket]:
    """Buckets of ``width_us`` (a multiple of ``child_width_us``, aligned on ``start_us``)
    from finer ones sorted by start, oldest first: equal to :func:`summarize` of the same
    samples. A child's last value holds on past the child's end, to the next child's first
    sample or the end of the bigger bucket."""
    out: list[Bucket] = []
    current = -1
    acc: list[Any] = []
    prev: Bucket | None = None

    def close() -> None:
        if prev is not None and prev.last is not None:  # the last child holds to the end
            extra = current + width_us - prev.start_us - child_width_us
            acc[7] += prev.last * extra
            acc[8] += extra
        out.append(Bucket._make(acc))

    for k in children:
        if not k.samples:
            continue
        b_start = start_us + (k.start_us - start_us) // width_us * width_us
        if b_start != current:
            if acc:
                close()
            current, prev = b_start, None
            acc = [b_start, 0, 0, 0, None, None, 0.0, 0.0, 0, k.first, k.first_us, None, 0]
        if prev is not None and prev.last is not None:
            extra = k.first_us - prev.start_us - child_width_us
            acc[7] += prev.last * extra
            acc[8] += extra
        acc[1] += k.samples
        acc[2] += k.good
        acc[3] += k.valued
        if k.min is not None:
            acc[4] = k.min if acc[4] is None or k.min < acc[4] else acc[4]
            acc[5] = k.max if acc[5] is None or k.max > acc[5] else acc[5]  # type: ignore[operator]
        acc[6] += k.sum
        acc[7] += k.area
        acc[8] += k.covered_us
        acc[11], acc[12] = k.last, k.last_us
        prev = k
    if acc:
        close()
    return out
