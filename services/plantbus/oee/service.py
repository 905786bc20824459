"""The OEE service: telemetry in (through the telemetry stream, so nothing is missed),
ISO 22400 snapshots, final figures and downtime events out, state in KV so a restart
neither loses nor double-counts. The figures are :class:`~plantbus.oee.live.LiveOee`'s;
:class:`~plantbus.oee.share.LineShare` feeds it, publishes and saves; this module wires
that to the runner (start, stop, config, health, gRPC) and audits what people change.

Replicas: each line is a scope (:mod:`plantbus.kit.scopes`, :mod:`plantbus.oee.lines`)
run by one replica at a time under a KV lease; when this replica's share changes, the
share is rebuilt from KV (see :mod:`plantbus.oee.share`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.config import PlantConfig
from plantbus.kit import streams, subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.oee.corrections import correct_counts
from plantbus.oee.engine import OeeEngine
from plantbus.oee.lines import lines_of
from plantbus.oee.live import LiveOee
from plantbus.oee.share import LineShare, unsubscribe
from plantbus.v1 import erp_pb2, oee_pb2, oee_pb2_grpc

__all__ = ["OeeService"]

_KPIS = ("oee", "availability", "performance", "quality")
_GAUGE = otel.Gauge(
    "plantbus.oee",
    "plantbus.oee.kpi",
    "Live OEE, availability, performance and quality (0-1) of each machine's current shift",
)
_TICK_S = 0.25
_SAVE_S = 2.0


class OeeService(Service):
    """Computes live OEE for every mapped machine."""

    name: ClassVar[str] = "oee"
    config_sections: ClassVar[frozenset[str] | None] = frozenset(
        {"oee", "oee_settings", "shift_calendars"}
    )

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.share = LineShare(ctx.bus, ctx.log)
        self.listeners: set[asyncio.Queue[oee_pb2.OeeSnapshot]] = self.share.out.listeners
        """The queues of the gRPC watchers (WatchOee), each given every snapshot sent."""
        self.saves: StoreHealth = self.share.saves
        """Whether the state saves to KV work."""
        self._wo_sub: Any = None
        self._unwatch: list[Callable[[], None]] = []
        """Removes this instance's gauge sources (on stop)."""
        self._scopes: ScopeOwner | None = None

    @property
    def live(self) -> LiveOee:
        """The live figures of the lines this replica runs."""
        return self.share.live

    @property
    def engine(self) -> OeeEngine:
        """The KPI engine (committed figures)."""
        return self.share.live.engine

    @property
    def lag(self) -> int:
        """Telemetry messages still in the stream after the last one read."""
        return self.share.lag

    @property
    def _sub(self) -> Any:
        """The telemetry subscription (None while no line is consumed)."""
        return self.share.source.sub

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
        KV store full), late samples dropped past the correction horizon and samples
        skipped for a source time too far ahead."""
        dropped, ahead = self.live.dropped, self.live.ahead
        late = f"{dropped} samples later than oee_settings.correction_horizon_s dropped"
        early = f"{ahead} samples ahead of the hub's clock past oee_settings.max_clock_ahead_s"
        share = self._scopes.describe() if self._scopes else ""
        catching_up = self.share.catching_up
        replay = "catching up with the telemetry stream" if catching_up else ""
        details = (
            share,
            replay,
            self.saves.detail(),
            late if dropped else "",
            early if ahead else "",
        )
        settled = self._scopes is None or self._scopes.settled()
        return settled and not catching_up, "; ".join(d for d in details if d)

    async def start(self) -> None:
        """Open the state bucket and streams, start the background loops; the lines of this
        replica's share are restored and consumed once the first config says which."""
        self.share.kv = await streams.open_bucket(self.ctx.bus, streams.OEE_STATE)
        await streams.ensure_stream(self.ctx.bus, streams.CYCLES)
        await streams.ensure_stream(self.ctx.bus, streams.OEE_FINAL)
        self._wo_sub = await self.ctx.bus.subscribe(
            f"{subjects.PREFIX}.erp.workorder.>", self._on_workorder
        )
        self.tasks.spawn(self._tick_loop(), name="oee-tick")
        self._unwatch = [_GAUGE.watch(self.kpi_readings), otel.CONSUMER_LAG.watch(self._lag)]
        self._scopes = self.share.scopes = await open_scopes(self.ctx, self)

    async def take(self, scopes: set[str]) -> None:
        """Run these lines too: rebuilt from KV (see :mod:`plantbus.oee.share`)."""
        await self.share.rebuild(self.share.lines | scopes, save=True)

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop running these lines; saved first unless a lease was lost (then every line
        resumes from its last save)."""
        await self.share.rebuild(self.share.lines - scopes, save=save)

    async def stop(self) -> None:
        """Stop consuming and save the state one last time; give the lines back."""
        for unwatch in self._unwatch:
            unwatch()
        if self._scopes is not None:
            await self._scopes.stop()  # saves, then releases each line
        if self._wo_sub is not None:
            await unsubscribe(self._wo_sub)
            self._wo_sub = None
        await self.share.close()
        await super().stop()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take the OEE mappings, loss settings and shift calendars; start consuming on
        the first version."""
        await self.share.configure(config)
        if self._scopes is not None:
            self._scopes.configure(lines_of(config))
            if not self._scopes.started:
                await self._scopes.step()  # alone, it runs every line from its first config
                self._scopes.start()
        self.config_version = version

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
        return [(self.lag, {"stream": streams.CYCLES.name, "consumer": "oee"})]

    async def _on_workorder(self, subject: str, msg: Message, raw: Msg) -> None:
        """A work order started or ended on a machine: its ideal cycle time applies there."""
        if not isinstance(msg, erp_pb2.WorkOrderEvent) or not msg.machine:
            return
        async with self.share.lock:
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
            await asyncio.sleep(_TICK_S)
            await self.share.tick(time.time())
            if time.monotonic() - last_save >= _SAVE_S:
                last_save = time.monotonic()
                await self.save()

    async def save(self) -> None:
        """Save the state of the lines run now (:meth:`LineShare.save`)."""
        await self.share.save()

    async def classify(
        self, downtime_id: str, reason: str, actor: str, action: str = "downtime.classify"
    ) -> oee_pb2.DowntimeEvent:
        """Give a downtime episode its reason; its figures are recomputed; audited as
        ``action`` (``downtime.reclassify`` for one someone classified before)."""
        async with self.share.lock:
            classified, old = self.live.classify(downtime_id, reason, actor, time.time())
            await self.share.publish_due(time.time())
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
        async with self.share.lock:
            now = time.time()
            correct_counts(self.live, machine, ts, correction, quantity, now)
            self.live.tick(now)
            await self.share.publish_due(now)
            snap = self.machine_snapshot(machine, now)
        await self.ctx.audit(
            action="oee.correct_counts",
            target=machine,
            actor=actor,
            detail=why,
            attributes={**attributes, "revision": str(snap.revision)},
        )
        return snap
