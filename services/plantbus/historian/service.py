"""The historian service: telemetry and events from JetStream into a store plugin,
exactly once; retention; the store behind HistorianService's queries.

Exactly once: each write holds the rows of a batch of stream messages and the stream
sequences they reach, in one transaction of the store; the consumers start after the
sequences the store holds (:mod:`plantbus.historian.consumer`), and redeliveries at or
below them are skipped (:mod:`plantbus.historian.batch`). A kill at any moment leaves
either the whole batch with its position or neither.

A write that fails (a full disk, a store server away) keeps its batch and is tried again
with back-off; fetching stops while it waits, the messages stay in their streams (within
the streams' retention), and health says why.

Tasks, one each: a fetcher per stream, the writer, retention. Options (``ctx.options``):
``retention_interval_s`` (600).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from nats.aio.msg import Msg

from plantbus.config import PlantConfig
from plantbus.config.historian import HistorianConfig
from plantbus.historian.batch import Pending
from plantbus.historian.consumer import StreamReader
from plantbus.historian.retention import cutoffs
from plantbus.historian.rows import SnapshotFilter, TagFilter
from plantbus.kit import streams
from plantbus.kit import telemetry as otel
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tasks import cancel
from plantbus.plugins import HISTORIAN_STORES, discover
from plantbus.sdk.errors import PlantbusError
from plantbus.sdk.historian import HistorianStore, StoreContext, StoreUnavailable
from plantbus.v1 import historian_pb2_grpc

__all__ = ["HistorianService"]

_QUEUE = 4
"""Fetched batches waiting for the writer; a slow or failing store stops the fetchers."""
_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


def _now_us() -> int:
    return time.time_ns() // 1000


class HistorianService(Service):
    """Keeps every sample, KPI, alarm and stop."""

    name: ClassVar[str] = "historian"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.section = HistorianConfig()
        self.keep = TagFilter(self.section.tags)
        self.snapshots = SnapshotFilter(self.section.oee_every_s)
        self.lines: dict[str, str] = {}
        self.store: HistorianStore[Any] | None = None
        self.writes = StoreHealth("historian store", ctx.log)
        self.open_error = ""
        self.readers: list[StreamReader] = []
        self.stored = {"messages": 0, "samples": 0, "events": 0, "too_old": 0, "undecodable": 0}
        self._task: asyncio.Task[None] | None = None
        self._interval = float(ctx.options.get("retention_interval_s", 600.0))
        self._unwatch: Callable[[], None] = lambda: None

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The HistorianService servicer."""
        from plantbus.historian.servicer import HistorianServicer

        return [
            GrpcBinding(
                historian_pb2_grpc.add_HistorianServiceServicer_to_server,
                HistorianServicer(self),
                "plantbus.v1.HistorianService",
            )
        ]

    def health(self) -> tuple[bool, str]:
        """Serving once the store is open; the detail says why ingest is paused."""
        details = [self.open_error, self.writes.detail()]
        if self.writes.error:
            marks = ", ".join(f"{r.stream} {r.committed}" for r in self.readers)
            details.append(f"ingest paused after {marks}; retried with back-off")
        lost = [f"{r.lost} messages of {r.stream}" for r in self.readers if r.lost]
        if lost:
            details.append(f"expired from the streams before they were stored: {', '.join(lost)}")
        return self.store is not None, "; ".join(d for d in details if d)

    async def start(self) -> None:
        """Open the store the default section names; a config version may change it."""
        self._restart(self.section)
        self._unwatch = otel.CONSUMER_LAG.watch(self._lag)

    def _lag(self) -> list[tuple[float, dict[str, str]]]:
        return [(r.lag, {"stream": r.stream, "consumer": r.durable}) for r in self.readers]

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take the section live; a different store (or its settings) is reopened."""
        section = config.historian
        self.lines = {f"{p.split('/')[0]}/{p.split('/')[2]}": p for p in config.line_paths()}
        self.keep = TagFilter(section.tags)
        if section.oee_every_s != self.section.oee_every_s:
            self.snapshots = SnapshotFilter(section.oee_every_s)
        old, self.section = self.section, section
        if (section.store, section.store_settings) != (old.store, old.store_settings):
            await self._stop_task()
            self._restart(section)
        self.config_version = version

    async def stop(self) -> None:
        """Stop every task (a batch being written finishes first) and close the store."""
        self._unwatch()
        await self._stop_task()

    def _restart(self, section: HistorianConfig) -> None:
        self._task = asyncio.create_task(self._run(section), name="historian")

    async def _stop_task(self) -> None:
        if self._task is not None:
            await cancel(self._task)
            self._task = None

    async def _open(self, section: HistorianConfig) -> HistorianStore[Any]:
        cls = discover(HISTORIAN_STORES).get(section.store)
        settings = cls.Settings.model_validate(section.store_settings)
        store = cls(settings, StoreContext(self.ctx.data_dir, self.ctx.log))
        await store.open()
        return store

    async def _run(self, section: HistorianConfig) -> None:
        """Open the store (retrying while it cannot), then ingest until cancelled."""
        attempt = 0
        while True:
            try:
                store = await self._open(section)
                break
            except (PlantbusError, OSError) as err:
                self.open_error = f"historian store {section.store!r} cannot open: {err}"
                if attempt == 0:
                    self.ctx.log.error("%s (retrying)", self.open_error)
                await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                attempt += 1
        self.open_error = ""
        readers = [
            StreamReader(self.ctx.bus, streams.TELEMETRY, "historian-telemetry"),
            StreamReader(self.ctx.bus, streams.EVENTS, "historian-events"),
            StreamReader(self.ctx.bus, streams.OEE_FINAL, "historian-oee-final"),
        ]
        try:
            for reader in readers:
                await reader.open(await store.position(reader.stream))
            self.store, self.readers = store, readers
            self.ctx.log.info(
                "historian store %s open; resuming after %s",
                section.store,
                ", ".join(f"{r.stream} {r.committed}" for r in readers),
            )
            queue: asyncio.Queue[tuple[StreamReader, list[Msg]]] = asyncio.Queue(_QUEUE)
            async with asyncio.TaskGroup() as tasks:
                for reader in readers:
                    tasks.create_task(self._fetch(reader, queue))
                tasks.create_task(self._write(store, queue))
                tasks.create_task(self._expire(store))
        finally:
            self.store, self.readers = None, []
            for reader in readers:
                await reader.close()
            await store.close()

    async def _fetch(
        self, reader: StreamReader, queue: asyncio.Queue[tuple[StreamReader, list[Msg]]]
    ) -> None:
        while True:
            msgs = await reader.fetch(self.section.max_batch_messages, timeout=2.0)
            if msgs:
                await queue.put((reader, msgs))

    async def _gather(
        self, queue: asyncio.Queue[tuple[StreamReader, list[Msg]]]
    ) -> list[tuple[StreamReader, list[Msg]]]:
        """Fetched batches until the section's batch size or delay is reached."""
        got = [await queue.get()]
        count = len(got[0][1])
        deadline = asyncio.get_running_loop().time() + self.section.max_batch_delay_s
        while count < self.section.max_batch_messages:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                item = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                break
            got.append(item)
            count += len(item[1])
        return got

    def _pending(
        self, fetched: list[tuple[StreamReader, list[Msg]]], marks: dict[str, int]
    ) -> Pending:
        pending = Pending(dict(marks))
        not_before = cutoffs(self.section.retention, _now_us()).samples_us
        for reader, msgs in fetched:
            for msg in msgs:
                meta = msg.metadata
                if reader.spec is streams.TELEMETRY:
                    pending.add_telemetry(
                        reader.stream, meta.sequence.stream, msg.data, self.keep, not_before
                    )
                else:
                    pending.add_event(
                        reader.stream,
                        meta.sequence.stream,
                        msg.subject,
                        msg.data,
                        msg.headers,
                        int(meta.timestamp.timestamp() * 1e6),
                        self.lines,
                        self.snapshots,
                    )
        return pending

    async def _write(
        self, store: HistorianStore[Any], queue: asyncio.Queue[tuple[StreamReader, list[Msg]]]
    ) -> None:
        """Decode the next batch while the previous one is written (sqlite3 and most
        drivers leave the event loop free meanwhile); one write at a time, in order."""
        marks = {r.stream: r.committed for r in self.readers}
        writing: asyncio.Task[None] | None = None
        try:
            while True:
                fetched = await self._gather(queue)
                pending = self._pending(fetched, marks)
                marks = pending.marks
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self._commit(store, pending, fetched))
        finally:
            if writing is not None:
                await cancel(writing)

    async def _commit(
        self,
        store: HistorianStore[Any],
        pending: Pending,
        fetched: list[tuple[StreamReader, list[Msg]]],
    ) -> None:
        """Write until it works (backing off while the store fails), then acknowledge."""
        batch = pending.write_batch()
        attempt = 0
        carriers = (msg.headers for _, msgs in fetched for msg in msgs)
        with otel.linked_span("historian write", carriers):
            while True:
                try:
                    await store.write(batch)
                    break
                except StoreUnavailable as err:
                    self.writes.failed(err)
                    await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                    attempt += 1
        self.writes.worked()
        for reader in self.readers:
            reader.committed = pending.marks.get(reader.stream, reader.committed)
        for reader, msgs in fetched:
            reader.lag = msgs[-1].metadata.num_pending
            with contextlib.suppress(Exception):  # a lost ack costs a skipped redelivery
                await msgs[-1].ack()
        self._count(pending)

    def _count(self, pending: Pending) -> None:
        self.stored["messages"] += pending.messages
        self.stored["samples"] += len(pending.samples)
        self.stored["events"] += len(pending.events)
        self.stored["undecodable"] += pending.undecodable
        if pending.too_old:
            self.stored["too_old"] += pending.too_old
            self.ctx.log.warning(
                "dropped %d samples older than the raw retention (%g days)",
                pending.too_old,
                self.section.retention.samples_days,
            )

    async def _expire(self, store: HistorianStore[Any]) -> None:
        while True:
            await asyncio.sleep(self._interval)
            cut = cutoffs(self.section.retention, _now_us())
            try:
                deleted = await store.expire(cut.samples_us, cut.rollups_us, cut.events_us)
            except StoreUnavailable as err:
                self.ctx.log.warning("retention not applied (tried again later): %s", err)
                continue
            if deleted:
                self.ctx.log.info("retention removed %d rows", deleted)
