"""The store plugin interface: the base class, its context and its errors."""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plantbus.sdk.errors import PlantbusError
from plantbus.sdk.historian.rows import Bucket, Cutoffs, Event, EventQuery, Sample, WriteBatch
from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = ["HistorianStore", "StoreContext", "StoreFull", "StoreUnavailable"]


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
        return await self.find_events(EventQuery(kinds, scope, start_us, end_us, after), limit)

    async def find_events(self, query: EventQuery, limit: int) -> list[tuple[int, Event]]:
        """What :meth:`events` returns, for the query in one value (a SQL store builds
        its condition with :meth:`EventQuery.where`). Not abstract: a store written for
        API 1.1 overrides :meth:`events` instead and still loads."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither find_events nor events"
        )

    async def expire(
        self,
        samples_before_us: int,
        rollups_before_us: Mapping[int, int],
        events_before_us: Mapping[str, int],
    ) -> int:
        """Delete samples older than ``samples_before_us``, rollups (by width) and events
        (by kind) older than theirs; return how many rows went."""
        return await self.delete_older(
            Cutoffs(samples_before_us, rollups_before_us, events_before_us)
        )

    async def delete_older(self, cut: Cutoffs) -> int:
        """What :meth:`expire` does, for the cut-offs in one value (not abstract, as
        :meth:`find_events`: a 1.1 store overrides :meth:`expire`)."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither delete_older nor expire"
        )

    async def size_bytes(self) -> int:
        """Bytes the store takes on disk, where it can tell (0 otherwise)."""
        return 0
