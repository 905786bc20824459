"""The OEE service: telemetry in (through the telemetry stream, so nothing is missed),
ISO 22400 snapshots and downtime events out, engine state in KV so a restart neither
loses nor double-counts.

Exactly-once against the stream: the state saved in KV records the last stream
sequence it includes; after a restart the service reads the stream from the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.config.oee import ShiftCalendar
from plantbus.kit import codec, streams, subjects
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.oee.calendar import CalendarStatus, status_at
from plantbus.oee.engine import EngineSettings, MachineTrack, OeeEngine
from plantbus.oee.events import (
    BreakEnd,
    BreakStart,
    Event,
    ShiftEnd,
    ShiftStart,
    StateChange,
    WorkOrderEnd,
    WorkOrderStart,
)
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.mapping import MachineMapper
from plantbus.oee.persist import dump_downtimes, dump_engine, load_downtimes, load_engine
from plantbus.oee.snapshot import current_totals, snapshot
from plantbus.sdk.errors import NotFound
from plantbus.v1 import erp_pb2, oee_pb2, oee_pb2_grpc, telemetry_pb2

__all__ = ["OeeService"]

_ALWAYS = CalendarStatus("always", "")


class OeeService(Service):
    """Computes live OEE for every mapped machine."""

    name: ClassVar[str] = "oee"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.engine = OeeEngine(EngineSettings())
        self.mappers: dict[str, MachineMapper] = {}
        self.calendars: dict[str, ShiftCalendar] = {}
        self.status: dict[str, CalendarStatus] = {}
        self.seq = 0
        self.dirty: set[str] = set()
        self.urgent: set[str] = set()
        self.last_sent: dict[str, float] = {}
        self.listeners: set[asyncio.Queue[oee_pb2.OeeSnapshot]] = set()
        self._restored: dict[str, dict[str, object]] = {}
        self._kv: KeyValue | None = None
        self.saves = StoreHealth(f"OEE state in KV {streams.OEE_STATE.name}", ctx.log)
        self._sub: Any = None
        self._wo_sub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The OeeService servicer."""
        from plantbus.oee.servicer import OeeServicer

        return [
            GrpcBinding(
                oee_pb2_grpc.add_OeeServiceServicer_to_server,
                OeeServicer(self),
                "plantbus.v1.OeeService",
            )
        ]

    def health(self) -> tuple[bool, str]:
        """Serving; the detail names a state save that fails (the KV store full)."""
        return True, self.saves.detail()

    async def start(self) -> None:
        """Restore state from KV and start the background loops."""
        self._kv = await streams.open_bucket(self.ctx.bus, streams.OEE_STATE)
        try:
            entry = await self._kv.get("state")
            if entry.value:
                saved = json.loads(zlib.decompress(entry.value))
                self.seq = int(saved["seq"])
                load_engine(self.engine, saved["engine"])
                self._restored = saved.get("mappers", {})
                self.engine.downtime.restore(
                    load_downtimes(saved.get("downtimes", [])),
                    load_downtimes(saved.get("open", [])),
                )
                self.ctx.log.info("restored OEE state up to telemetry sequence %d", self.seq)
        except KeyNotFoundError:
            pass
        await streams.ensure_stream(self.ctx.bus, streams.TELEMETRY)
        self._wo_sub = await self.ctx.bus.subscribe(
            f"{subjects.PREFIX}.erp.workorder.>", self._on_workorder
        )
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="oee-tick"))

    async def stop(self) -> None:
        """Stop consuming and save the state one last time."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for sub in (self._sub, self._wo_sub):
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        self._sub = self._wo_sub = None
        with contextlib.suppress(Exception):
            await self.save()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take the OEE mappings and shift calendars; start consuming on the first version."""
        lines = {line: cal for cal in config.shift_calendars for line in cal.lines}
        mappers = {}
        for mapping in config.oee:
            line = mapping.machine.rsplit("/", 1)[0]
            old = self.mappers.get(mapping.machine)
            if old and old.mapping == mapping:
                mapper = old
            else:
                mapper = MachineMapper(mapping, line)
                if mapping.machine in self._restored:
                    mapper.load(self._restored.pop(mapping.machine))
            mappers[mapping.machine] = mapper
            self.engine.track(mapping.machine, line).ideal_cycle_s = mapping.ideal_cycle_time_s
        async with self._lock:
            self.mappers, self.calendars = mappers, lines
            self._calendar_events(time.time())  # shifts start before the first sample counts
        self.config_version = version
        if self._sub is None:
            await self._subscribe()

    async def _subscribe(self) -> None:
        if self.seq:
            cfg = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.seq + 1
            )
        else:
            cfg = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
        self._sub = await self.ctx.bus.js.subscribe(
            f"{subjects.PREFIX}.telemetry.>",
            stream=streams.TELEMETRY.name,
            ordered_consumer=True,
            config=cfg,
            cb=self._on_msg,
        )

    async def _on_msg(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self.seq:
            return
        try:
            batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        except Exception:  # noqa: BLE001 - a bad payload is skipped, never fatal
            self.ctx.log.warning("skipped undecodable telemetry at stream sequence %d", seq)
            self.seq = seq
            return
        async with self._lock:
            for sample in batch.samples:
                if sample.quality != telemetry_pb2.QUALITY_GOOD:
                    continue
                machine, _, tag = sample.path.rpartition("/")
                mapper = self.mappers.get(machine)
                if mapper is None:
                    continue
                try:
                    ts = sample.source_time.ToNanoseconds() / 1e9
                except ValueError:  # a source time outside years 1-9999 is no time at all
                    continue
                self._apply(mapper.on_sample(tag, codec.scalar(sample.value), ts))
            self.seq = seq
            if self.urgent:  # state changes are not held back by count coalescing
                await self._publish_due(time.time())

    async def _on_workorder(self, subject: str, msg: Message, raw: Msg) -> None:
        """A work order started or ended on a machine: its ideal cycle time applies there."""
        if not isinstance(msg, erp_pb2.WorkOrderEvent) or not msg.machine:
            return
        machine = msg.machine
        if machine not in self.mappers:
            return
        line, now = self.mappers[machine].line, time.time()
        event: Event
        if msg.status == "running":
            ict = msg.ideal_cycle_time_s or None
            event = WorkOrderStart(now, machine, line, order=msg.erp_id, ideal_cycle_time_s=ict)
        elif msg.status in ("completed", "cancelled"):
            event = WorkOrderEnd(now, machine, line, order=msg.erp_id)
        else:
            return
        async with self._lock:
            self._apply([event])
            self.urgent.add(machine)

    def _apply(self, events: Sequence[Event]) -> None:
        for event in events:
            for downtime in self.engine.process(event):
                self._publish_downtime(downtime)
            self.dirty.add(event.machine)
            if isinstance(event, StateChange):
                self.urgent.add(event.machine)

    def _publish_downtime(self, event: oee_pb2.DowntimeEvent) -> None:
        subject = subjects.downtime(*event.machine.split("/"))
        task = asyncio.create_task(self.ctx.bus.publish(subject, event))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    def _calendar_events(self, now: float) -> None:
        """Shift and break starts and ends; the calendar is read once per line, and a
        machine whose line did not change costs one comparison (the tick runs 4 times a
        second over every mapped machine)."""
        by_line: dict[str, CalendarStatus] = {}
        for machine, mapper in self.mappers.items():
            if mapper.line not in by_line:
                calendar = self.calendars.get(mapper.line)
                by_line[mapper.line] = status_at(calendar, now) if calendar else _ALWAYS
            status = by_line[mapper.line]
            if self.status.get(machine) == status:
                continue
            track = self.engine.track(machine, mapper.line)
            old = self.status.get(
                machine,
                CalendarStatus(
                    track.shift if track.in_shift else "", track.breaks[-1] if track.breaks else ""
                ),
            )
            events: list[Event] = []
            if old.breaks and old.breaks != status.breaks:
                events.append(BreakEnd(now, machine, mapper.line))
            if old.shift and old.shift != status.shift:
                events.append(ShiftEnd(now, machine, mapper.line))
            if status.shift and status.shift != old.shift:
                events.append(ShiftStart(now, machine, mapper.line, shift=status.shift))
            if status.breaks and status.breaks != old.breaks:
                events.append(BreakStart(now, machine, mapper.line, reason=status.breaks))
            self.status[machine] = status
            self._apply(events)

    def machine_snapshot(self, machine: str, now: float) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a machine's current shift."""
        track = self.engine.machines.get(machine)
        if track is None:
            raise NotFound(f"no OEE for machine {machine!r}: is it mapped in the oee section?")
        self.engine.advance(track, now)
        return snapshot(machine, Kpis(current_totals(track)), track, track.shift)

    def line_snapshot(self, line: str, now: float) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a line: summed times and counts of its machines' shifts."""
        tracks: list[MachineTrack] = [t for t in self.engine.machines.values() if t.line == line]
        if not tracks:
            raise NotFound(f"no OEE for line {line!r}")
        for track in tracks:
            self.engine.advance(track, now)
        kpis = Kpis(Totals.sum(current_totals(t) for t in tracks))
        return snapshot(line, kpis, None, tracks[0].shift)

    async def _tick_loop(self) -> None:
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            now = time.time()
            async with self._lock:
                self._calendar_events(now)
                await self._publish_due(now)
            if time.monotonic() - last_save >= 2.0:
                last_save = time.monotonic()
                await self.save()

    async def _publish_due(self, now: float) -> None:
        """Snapshots of machines whose state changed (at once) or whose counts changed
        (at most once a second), and of their lines. Call with the lock held."""
        due = {m for m in self.dirty if m in self.urgent or now - self.last_sent.get(m, 0.0) >= 1.0}
        for machine in due:
            self.dirty.discard(machine)
            self.urgent.discard(machine)
            self.last_sent[machine] = now
            await self._send(self.machine_snapshot(machine, now))
        for line in {machine.rsplit("/", 1)[0] for machine in due}:
            await self._send(self.line_snapshot(line, now))

    async def _send(self, snap: oee_pb2.OeeSnapshot) -> None:
        await self.ctx.bus.publish(subjects.oee(*snap.scope.split("/")), snap)
        for queue in self.listeners:
            if queue.qsize() < 1000:
                queue.put_nowait(snap)

    async def save(self) -> None:
        """Store the engine state and the stream sequence it includes. A failed write
        (JetStream's store or the bucket full, NATS away) is kept in ``saves`` for health,
        not raised: the next save, 2 s later, tries again, and a restart before then
        resumes from the last saved sequence, so nothing is counted twice."""
        if self._kv is None:
            return
        async with self._lock:
            doc = {
                "seq": self.seq,
                "engine": dump_engine(self.engine),
                "mappers": {name: m.dump() for name, m in self.mappers.items()},
                # the recent stops (to classify after a restart) and the open ones (so
                # the stop that was going on ends with its own id)
                "downtimes": dump_downtimes(self.engine.downtime.recent),
                "open": dump_downtimes(self.engine.downtime.open.values()),
            }
        await self.saves.put(self._kv, "state", zlib.compress(json.dumps(doc).encode()))

    async def classify(self, downtime_id: str, reason: str, actor: str) -> oee_pb2.DowntimeEvent:
        """Give a downtime episode its reason; moves its time to that reason; audited."""
        async with self._lock:
            classified, old = self.engine.classify(downtime_id, reason, actor, time.time())
            self.urgent.add(classified.machine)
            self.dirty.add(classified.machine)
        self._publish_downtime(classified)
        await self.ctx.audit(
            action="downtime.classify",
            target=classified.machine,
            actor=actor,
            detail=f"{downtime_id}: {old} -> {reason}",
        )
        return classified
