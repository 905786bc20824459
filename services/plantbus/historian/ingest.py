"""The historian's ingest on one open store: a fetcher per stream, one writer, retention.

The fetchers put fetched batches on a short queue (a slow or failing store stops them):
a fetch returns a full batch (``max_batch_messages``) as soon as its stream has one, else
what came within ``max_batch_delay_s`` of its first message, so a sample waits at most
that long before the writer has it. The writer takes what is queued up to the batch
size, decodes the next batch while the previous one is written (adding what queued up
meanwhile), and writes one at a time, in order. A write that
fails keeps its batch and is tried again with back-off (health says why); the messages
are acknowledged only after their write, and only then released from their reader's
bound on what is in flight (consumer.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

import nats.errors
from nats.aio.msg import Msg

from plantbus.historian.batch import Pending
from plantbus.historian.consumer import StreamReader, position
from plantbus.historian.retention import cutoffs
from plantbus.kit import streams
from plantbus.kit import telemetry as otel
from plantbus.kit.tasks import cancel
from plantbus.sdk.historian import HistorianStore, StoreUnavailable

if TYPE_CHECKING:
    from plantbus.historian.service import HistorianService

__all__ = ["BACKOFF_S", "Ingest"]

QUEUE: Final = 4
"""Fetched batches waiting for the writer."""
PATHS: Final = 200_000
"""Decoded tag paths kept for the next batches (beyond this many: forgotten, made anew)."""
BACKOFF_S: Final = (0.5, 1.0, 2.0, 5.0)

Fetched = list[tuple[StreamReader, list[Msg]]]


def _now_us() -> int:
    return time.time_ns() // 1000


class Ingest:
    """Streams into ``store`` for ``service`` (whose section, filters and line paths
    follow the config live); :meth:`run` until cancelled."""

    def __init__(self, service: HistorianService, store: HistorianStore[Any]) -> None:
        self.service = service
        self.store = store
        self.queue: asyncio.Queue[tuple[StreamReader, list[Msg]]] = asyncio.Queue(QUEUE)
        self.paths: dict[bytes, str] = {}

    async def run(self, interval_s: float) -> None:
        """Fetch, write and expire (every ``interval_s``) until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            for reader in self.service.readers:
                tasks.create_task(self._fetch(reader), name=f"historian-fetch-{reader.stream}")
            tasks.create_task(self._write(), name="historian-write")
            tasks.create_task(self._expire(interval_s), name="historian-retention")

    async def _fetch(self, reader: StreamReader) -> None:
        while True:
            section = self.service.section
            msgs = await reader.fetch(section.max_batch_messages, section.max_batch_delay_s)
            if msgs:
                await self.queue.put((reader, msgs))

    async def _gather(self) -> Fetched:
        """The next fetched batch and those queued behind it, up to the section's batch
        size (each fetch already waited up to the section's delay for a fuller batch)."""
        got = [await self.queue.get()]
        return got + self._queued(len(got[0][1]))

    def _queued(self, count: int) -> Fetched:
        """What is queued now, while ``count`` messages leave room in a batch."""
        got: Fetched = []
        while count < self.service.section.max_batch_messages and not self.queue.empty():
            got.append(self.queue.get_nowait())
            count += len(got[-1][1])
        return got

    def _decode(self, pending: Pending, fetched: Fetched) -> None:
        not_before = cutoffs(self.service.section.retention, _now_us()).samples_us
        keep = self.service.keep
        for reader, msgs in fetched:
            if reader.spec is streams.CYCLES:
                add = pending.add_telemetry
                for msg in msgs:
                    add(reader.stream, position(msg.reply)[0], msg.data, keep, not_before)
                continue
            for msg in msgs:
                meta = msg.metadata
                pending.add_event(
                    reader.stream,
                    meta.sequence.stream,
                    msg.subject,
                    msg.data,
                    msg.headers,
                    int(meta.timestamp.timestamp() * 1e6),
                    self.service.lines,
                    self.service.snapshots,
                )

    async def _write(self) -> None:
        """Decode the next batch while the previous one is written (sqlite3 and most
        drivers leave the event loop free meanwhile), and add to it what queued up
        while that write took long (a slow or failing store: fewer, fuller writes to
        catch up with); one write at a time, in order."""
        marks = {r.stream: r.committed for r in self.service.readers}
        writing: asyncio.Task[None] | None = None
        try:
            while True:
                fetched = await self._gather()
                if len(self.paths) > PATHS:
                    self.paths.clear()
                pending = Pending(dict(marks), paths=self.paths)
                self._decode(pending, fetched)
                if writing is not None:
                    await writing
                    more = self._queued(pending.messages + pending.redelivered)
                    self._decode(pending, more)
                    fetched += more
                marks = pending.marks
                writing = asyncio.create_task(self._commit(pending, fetched))
        finally:
            if writing is not None:
                await cancel(writing)

    async def _commit(self, pending: Pending, fetched: Fetched) -> None:
        """Write until it works (backing off while the store fails), then acknowledge."""
        batch = pending.write_batch()
        attempt = 0
        carriers = (msg.headers for _, msgs in fetched for msg in msgs)
        with otel.linked_span("historian write", carriers):
            while True:
                try:
                    await self.store.write(batch)
                    break
                except StoreUnavailable as err:
                    self.service.writes.failed(err)
                    await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                    attempt += 1
        self.service.writes.worked()
        for reader in self.service.readers:
            reader.committed = pending.marks.get(reader.stream, reader.committed)
        for reader, msgs in fetched:
            reader.lag = position(msgs[-1].reply)[1]
            try:
                await msgs[-1].ack()
            except nats.errors.Error as err:  # a lost ack costs a skipped redelivery
                self.service.ctx.log.debug("ack of %s lost: %s", reader.stream, err)
            reader.release(msgs)
        self._count(pending)

    def _count(self, pending: Pending) -> None:
        self.service.stored["messages"] += pending.messages
        self.service.stored["samples"] += len(pending.samples)
        self.service.stored["events"] += len(pending.events)
        self.service.stored["undecodable"] += pending.undecodable
        if pending.too_old:
            self.service.stored["too_old"] += pending.too_old
            self.service.ctx.log.warning(
                "dropped %d samples older than the raw retention (%g days)",
                pending.too_old,
                self.service.section.retention.samples_days,
            )

    async def _expire(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            cut = cutoffs(self.service.section.retention, _now_us())
            try:
                deleted = await self.store.expire(*cut)
            except StoreUnavailable as err:
                self.service.ctx.log.warning("retention not applied (tried again later): %s", err)
                continue
            if deleted:
                self.service.ctx.log.info("retention removed %d rows", deleted)
