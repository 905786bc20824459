"""The OEE service: telemetry in (through the telemetry stream, so nothing is missed),
ISO 22400 snapshots, final figures and downtime events out, state in KV so a restart
neither loses nor double-counts. The figures are :class:`~plantbus.oee.live.LiveOee`'s;
this module only feeds it, publishes and saves.

Exactly-once against the stream: each saved value records the last stream sequence it
includes; after a restart the service reads the stream from the oldest of them and
skips, per machine, what that machine's value already includes.

Replicas: each line is a scope (:mod:`plantbus.kit.scopes`, :mod:`plantbus.oee.lines`)
run by one replica at a time under a KV lease. When its share changes a replica saves the
lines it keeps, rebuilds its state from KV for its new share and reads the stream again
from there, exactly as after a restart; it publishes and saves only while it holds every
lease of its share, so one that was paused past its lease publishes nothing stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.kit import codec, streams, subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tasks import cancel
from plantbus.oee.corrections import correct_counts
from plantbus.oee.engine import OeeEngine
from plantbus.oee.lines import (
    LEGACY_KEY,
    dump_line,
    line_key,
    line_of,
    lines_of,
    load_line,
    only_lines,
    saved_line,
)
from plantbus.oee.live import LiveOee
from plantbus.oee.persist import MACHINE_PREFIX, dump_machine, load_machine, machine_key
from plantbus.v1 import erp_pb2, oee_pb2, oee_pb2_grpc, telemetry_pb2

__all__ = ["OeeService"]

_KPIS = ("oee", "availability", "performance", "quality")
_GAUGE = otel.Gauge(
    "plantbus.oee",
    "plantbus.oee.kpi",
    "Live OEE, availability, performance and quality (0-1) of each machine's current shift",
)
CAUGHT_UP = 100
"""Messages left in the stream below which a rebuilt replica counts as caught up."""


class OeeService(Service):
    """Computes live OEE for every mapped machine."""

    name: ClassVar[str] = "oee"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.live = LiveOee()
        self.seq = 0
        self.skip: dict[str, int] = {}
        """Per machine, the stream sequence its restored state already includes."""
        self.dirty: set[str] = set()
        self.urgent: set[str] = set()
        self.last_sent: dict[str, float] = {}
        self.listeners: set[asyncio.Queue[oee_pb2.OeeSnapshot]] = set()
        self._kv: KeyValue | None = None
        self.saves = StoreHealth(f"OEE state in KV {streams.OEE_STATE.name}", ctx.log)
        self._sub: Any = None
        self._wo_sub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self.lag = 0
        """Telemetry messages still in the stream after the last one read."""
        self._unwatch: list[Callable[[], None]] = []
        """Removes this instance's gauge sources (on stop)."""
        self._config: PlantConfig | None = None
        self._scopes: ScopeOwner | None = None
        self._generation = 0
        """Bumped on every rebuild: messages of an older subscription are ignored."""
        self._lines: set[str] = set()
        self.catching_up = False
        """Reading the stream again after a rebuild: snapshots wait until it is near its
        end, so the figures published never go back to what the saved state had."""
        self._last_msg = 0.0
        """The lines ``live`` was rebuilt for (this replica's share, once taken)."""

    @property
    def engine(self) -> OeeEngine:
        """The KPI engine (committed figures)."""
        return self.live.engine

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
        """Serving once this replica runs its share of the lines and has caught up with
        the stream (readiness); the detail names the share, a state save that fails (the
        KV store full) and late samples dropped past the correction horizon."""
        dropped = self.live.dropped
        late = f"{dropped} samples later than oee_settings.correction_horizon_s dropped"
        share = self._scopes.describe() if self._scopes else ""
        replay = "catching up with the telemetry stream" if self.catching_up else ""
        details = (share, replay, self.saves.detail(), late if dropped else "")
        settled = self._scopes is None or self._scopes.settled()
        return settled and not self.catching_up, "; ".join(d for d in details if d)

    async def start(self) -> None:
        """Open the state bucket and streams, start the background loops; the lines of this
        replica's share are restored and consumed once the first config says which."""
        self._kv = await streams.open_bucket(self.ctx.bus, streams.OEE_STATE)
        await streams.ensure_stream(self.ctx.bus, streams.TELEMETRY)
        await streams.ensure_stream(self.ctx.bus, streams.OEE_FINAL)
        self._wo_sub = await self.ctx.bus.subscribe(
            f"{subjects.PREFIX}.erp.workorder.>", self._on_workorder
        )
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="oee-tick"))
        self._unwatch = [_GAUGE.watch(self.kpi_readings), otel.CONSUMER_LAG.watch(self._lag)]
        self._scopes = await open_scopes(self.ctx, self)

    def _fenced(self) -> bool:
        """Whether this replica holds the lease of every line it runs, right now."""
        scopes = self._scopes
        return scopes is None or all(scopes.holds(line) for line in self._lines)

    async def take(self, scopes: set[str]) -> None:
        """Run these lines too: rebuilt from KV (see the module's docstring)."""
        await self._rebuild(self._lines | scopes, save=True)

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop running these lines; saved first unless a lease was lost (then every line
        resumes from its last save)."""
        await self._rebuild(self._lines - scopes, save=save)

    async def _rebuild(self, lines: set[str], *, save: bool) -> None:
        """Saved state of ``lines`` from KV into a fresh LiveOee, consumed from there."""
        if save:
            await self.save()
        async with self._lock:
            self._generation += 1
            if self._sub is not None:
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
                self._sub = None
            self.live, self.seq, self.skip = LiveOee(), 0, {}
            self._lines = set(lines)
            self._last_msg = time.monotonic()
            self.dirty, self.urgent = set(), set()
            if self._kv is not None:
                await self._restore(self._kv, lines)
            self.catching_up = bool(lines) and await self._behind()
            if self._config is not None:
                self.live.configure(only_lines(self._config, lines), time.time())
            if lines and self._config is not None:
                await self._subscribe()

    async def _behind(self) -> bool:
        """Whether the stream holds telemetry after the restored sequence (no saved state:
        reading starts with new messages, nothing to catch up with)."""
        if not self.seq:
            return False
        try:
            info = await self.ctx.bus.js.stream_info(streams.TELEMETRY.name)
        except Exception:  # noqa: BLE001 - NATS slow: the tick loop decides
            return True
        return int(info.state.last_seq or 0) > self.seq

    async def _restore(self, kv: KeyValue, lines: set[str]) -> None:
        try:
            keys = await kv.keys()
        except NoKeysError:
            return
        seqs = []
        ours = [k for k in keys if saved_line(k) in lines]
        if not any(saved_line(k) for k in keys) and LEGACY_KEY in keys:
            ours.append(LEGACY_KEY)  # saved whole by a version before replicas
        for key in ours:
            entry = await kv.get(key)
            if not entry.value:
                continue
            saved = json.loads(zlib.decompress(entry.value))
            seqs.append(int(saved["seq"]))
            if key.startswith(MACHINE_PREFIX):
                name = key.removeprefix(MACHINE_PREFIX).replace(".", "/")
                load_machine(self.live, name, saved)
                self.skip[name] = int(saved["seq"])
            else:
                load_line(self.live, saved)
        self.seq = min(seqs, default=0)
        self.ctx.log.info(
            "restored OEE state of %s up to telemetry sequence %d", sorted(lines), self.seq
        )

    async def stop(self) -> None:
        """Stop consuming and save the state one last time; give the lines back."""
        for unwatch in self._unwatch:
            unwatch()
        if self._scopes is not None:
            await self._scopes.stop()  # saves, then releases each line
        await cancel(self._tasks)
        self._tasks.clear()
        for sub in (self._sub, self._wo_sub):
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        self._sub = self._wo_sub = None
        with contextlib.suppress(Exception):
            await self.save()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take the OEE mappings, loss settings and shift calendars; start consuming on
        the first version."""
        self._config = config
        async with self._lock:
            self.live.configure(only_lines(config, self._lines), time.time())
        if self._scopes is not None:
            self._scopes.configure(lines_of(config))
            if not self._scopes.started:
                await self._scopes.step()  # alone, it runs every line from its first config
                self._scopes.start()
        self.config_version = version

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
            cb=functools.partial(self._on_msg, self._generation),
        )

    def kpi_readings(self) -> list[tuple[float, dict[str, str]]]:
        """The KPI gauge's values: every machine's current-shift OEE and its factors."""
        now = time.time()
        snapshots = [self.live.machine_snapshot(m, now) for m in list(self.live.machines)]
        return [
            (getattr(snap, kpi), {"scope": snap.scope, "kpi": kpi})
            for snap in snapshots
            for kpi in _KPIS
        ]

    def _lag(self) -> list[tuple[float, dict[str, str]]]:
        return [(self.lag, {"stream": streams.TELEMETRY.name, "consumer": "oee"})]

    async def _on_msg(self, generation: int, msg: Msg) -> None:
        self.lag = msg.metadata.num_pending
        with otel.consume_span("oee telemetry", msg.headers):
            await self._on_batch(generation, msg)

    async def _on_batch(self, generation: int, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self.seq or generation != self._generation:
            return
        try:
            batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        except Exception:  # noqa: BLE001 - a bad payload is skipped, never fatal
            self.ctx.log.warning("skipped undecodable telemetry at stream sequence %d", seq)
            self.seq = seq
            return
        async with self._lock:
            if generation != self._generation:
                return  # rebuilt while this message waited for the lock
            self._last_msg = time.monotonic()
            if self.catching_up and msg.metadata.num_pending < CAUGHT_UP:
                self.catching_up = False
            now = time.time()
            for sample in batch.samples:
                if sample.quality != telemetry_pb2.QUALITY_GOOD:
                    continue
                if self.skip and seq <= self.skip.get(sample.path.rpartition("/")[0], 0):
                    continue  # that machine's saved state already includes it
                try:
                    ts = sample.source_time.ToNanoseconds() / 1e9
                except ValueError:  # a source time outside years 1-9999 is no time at all
                    continue
                self.live.sample(sample.path, codec.scalar(sample.value), ts, now)
            self.seq = seq
            if self.skip and seq >= max(self.skip.values()):
                self.skip.clear()
            await self._publish_due(now)

    async def _on_workorder(self, subject: str, msg: Message, raw: Msg) -> None:
        """A work order started or ended on a machine: its ideal cycle time applies there."""
        if not isinstance(msg, erp_pb2.WorkOrderEvent) or not msg.machine:
            return
        async with self._lock:
            ict = msg.ideal_cycle_time_s or None
            self.live.work_order(msg.machine, msg.status, msg.erp_id, ict, time.time())

    def machine_snapshot(self, machine: str, now: float) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a machine's current shift."""
        return self.live.machine_snapshot(machine, now)

    def line_snapshot(self, line: str, now: float) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a line: summed times and counts of its machines' shifts."""
        return self.live.line_snapshot(line, now)

    async def _tick_loop(self) -> None:
        last_save = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            now = time.time()
            async with self._lock:
                if self.catching_up and time.monotonic() - self._last_msg > 2.0:
                    self.catching_up = False  # nothing came for 2 s: at the stream's end
                self.live.tick(now)
                await self._publish_due(now)
            if time.monotonic() - last_save >= 2.0:
                last_save = time.monotonic()
                await self.save()

    async def _publish_due(self, now: float) -> None:
        """Downtime events and final figures; snapshots of machines whose state changed or
        was corrected (at once) or whose counts changed (at most once a second), and of
        their lines; nothing while a lease of this replica's share is not held (kept for
        when it is renewed, or dropped with the rebuild once lost). Call with the lock held."""
        if not self._fenced():
            return
        out = self.live.drain()
        for event in out.downtimes:
            where = [*event.machine.split("/"), "all"][:4]  # a line's stop: .<line>.all
            self._spawn(self.ctx.bus.publish(subjects.downtime(*where), event))
        for final in out.finals:
            await self.ctx.bus.publish(subjects.oee_final(*final.scope.split("/")), final)
        self.dirty |= out.dirty | out.urgent
        self.urgent |= out.urgent
        due = {m for m in self.dirty if m in self.urgent or now - self.last_sent.get(m, 0.0) >= 1.0}
        if self.catching_up:
            return  # snapshots once caught up (the dirty machines wait)
        for machine in due:
            self.dirty.discard(machine)
            self.urgent.discard(machine)
            self.last_sent[machine] = now
            if machine in self.live.engine.machines:
                await self._send(self.machine_snapshot(machine, now))
        for line in {machine.rsplit("/", 1)[0] for machine in due}:
            if any(t.line == line for t in self.live.engine.machines.values()):
                await self._send(self.line_snapshot(line, now))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _send(self, snap: oee_pb2.OeeSnapshot) -> None:
        await self.ctx.bus.publish(subjects.oee(*snap.scope.split("/")), snap)
        for queue in self.listeners:
            if queue.qsize() < 1000:
                queue.put_nowait(snap)

    async def save(self) -> None:
        """Store each machine's open state and the shared state, each with the stream
        sequence it includes. A failed write (JetStream's store or the bucket full, NATS
        away) is kept in ``saves`` for health, not raised: the next save, 2 s later, tries
        again, and a restart before then resumes from the last saved sequences, so
        nothing is counted twice."""
        if self._kv is None:
            return
        async with self._lock:
            if not self._fenced():
                return  # another replica may have these lines now: its state wins
            values = {}
            for name in self.live.engine.machines.keys() | self.live.machines.keys():
                if line_of(name) in self._lines:
                    # a machine restored ahead of the replay includes up to its skip
                    doc = dump_machine(self.live, name)
                    doc["seq"] = max(self.seq, self.skip.get(name, 0))
                    values[machine_key(name)] = doc
            for line in self._lines:
                values[line_key(line)] = {**dump_line(self.live, line), "seq": self.seq}
        for key, doc in values.items():
            if not await self.saves.put(self._kv, key, zlib.compress(json.dumps(doc).encode())):
                return

    async def classify(
        self, downtime_id: str, reason: str, actor: str, action: str = "downtime.classify"
    ) -> oee_pb2.DowntimeEvent:
        """Give a downtime episode its reason; its figures are recomputed; audited as
        ``action`` (``downtime.reclassify`` for one someone classified before)."""
        async with self._lock:
            classified, old = self.live.classify(downtime_id, reason, actor, time.time())
            await self._publish_due(time.time())
        await self.ctx.audit(
            action=action,
            target=classified.machine,
            actor=actor,
            detail=f"{downtime_id}: {old} -> {reason}",
        )
        return classified

    async def correct_counts(
        self, machine: str, ts: float, correction: int, quantity: int, why: str, actor: str
    ) -> oee_pb2.OeeSnapshot:
        """Scrap, rework or a count entered by a person at ``ts``; the figures from then on
        are recomputed at once (a new revision); audited."""
        name = oee_pb2.CountCorrection.Name(correction).removeprefix("COUNT_CORRECTION_")
        attributes = {"correction": name.lower(), "quantity": str(quantity), "time": str(ts)}
        async with self._lock:
            now = time.time()
            correct_counts(self.live, machine, ts, correction, quantity, now)
            self.live.tick(now)
            await self._publish_due(now)
            snap = self.machine_snapshot(machine, now)
        await self.ctx.audit(
            action="oee.correct_counts",
            target=machine,
            actor=actor,
            detail=why,
            attributes={**attributes, "revision": str(snap.revision)},
        )
        return snap
