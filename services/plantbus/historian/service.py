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

One task in ``self.tasks`` opens the store and runs its ingest (a fetcher per stream, the
writer, retention: :mod:`plantbus.historian.ingest`); a new store in the config replaces
it. Options (``ctx.options``): ``retention_interval_s`` (600).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from plantbus.config import PlantConfig
from plantbus.config.historian import HistorianConfig
from plantbus.historian.consumer import StreamReader
from plantbus.historian.ingest import BACKOFF_S, Ingest
from plantbus.historian.rows import SnapshotFilter, TagFilter
from plantbus.kit import streams
from plantbus.kit import telemetry as otel
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tasks import cancel
from plantbus.plugins import HISTORIAN_STORES, discover
from plantbus.sdk.errors import PlantbusError
from plantbus.sdk.historian import HistorianStore, StoreContext
from plantbus.v1 import historian_pb2_grpc

__all__ = ["HistorianService"]


class HistorianService(Service):
    """Keeps every sample, KPI, alarm and stop."""

    name: ClassVar[str] = "historian"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"historian", "sites"})

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
        """The ingest of the open store (in ``self.tasks``); replaced when the store is."""
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
        await super().stop()

    def _restart(self, section: HistorianConfig) -> None:
        self._task = self.tasks.spawn(self._run(section), name="historian-ingest")

    async def _stop_task(self) -> None:
        if self._task is not None:
            await cancel(self._task)
            self._task = None

    async def _open(self, section: HistorianConfig) -> HistorianStore[Any]:
        cls = discover(HISTORIAN_STORES, lazy=True).get(section.store)
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
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
        self.open_error = ""
        readers = [
            StreamReader(self.ctx.bus, streams.CYCLES, "historian-telemetry"),
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
            await Ingest(self, store).run(self._interval)
        finally:
            self.store, self.readers = None, []
            for reader in readers:
                await reader.close()
            await store.close()
