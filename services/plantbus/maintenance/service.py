"""The maintenance service: usage counters, condition indicators, anomaly scores and
forecasts from the telemetry, plan states, events on the machines' maintenance subjects
(docs/maintenance.md).

Telemetry comes as core NATS messages, the cycles of the machines whose tags it uses
(:mod:`plantbus.maintenance.feed`). At the first
config version the service starts from history: the monitored tags and their machines'
state tags over the longest forecast window (at most a week), queried from the
historian and replayed through the engine before the samples that arrived meanwhile,
so forecasts and windows pick up where they were. Counters and baselines are kept in
KV ``plantbus_maintenance`` and restored at start (the replay does not count usage
again).

Options (``ctx.options``): ``tick_s`` (10), how often time-driven plans are checked
and changed state is saved; ``history_wait_s`` (10), how long the start waits for a
historian to appear.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import grpc

from plantbus.config import PlantConfig
from plantbus.config.maintenance import MaintenanceRequests, Monitor
from plantbus.kit import codec, streams, subjects
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.maintenance import convert
from plantbus.maintenance.anomaly import RobustBaseline, RobustSettings
from plantbus.maintenance.approvals import Approvals
from plantbus.maintenance.engine import Engine, Event
from plantbus.maintenance.feed import CycleFeed
from plantbus.maintenance.history import Sample, history
from plantbus.maintenance.outbox import queue_requests
from plantbus.maintenance.requests import RequestWorker
from plantbus.maintenance.state import SavedState
from plantbus.maintenance.usage import Usage
from plantbus.plugins import ANOMALY_MODELS, MAINTENANCE_CONNECTORS, discover, plugin_infos
from plantbus.sdk.errors import NotFound, PlantbusError, ValidationFailed
from plantbus.sdk.maintenance import AnomalyModel, MaintenanceConnector
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc, service_pb2, telemetry_pb2

__all__ = ["MaintenanceService", "robust_model"]


def robust_model(monitor: Monitor) -> AnomalyModel[Any]:
    """The built-in model sized by the monitor."""
    return RobustBaseline(
        RobustSettings(
            baseline_windows=monitor.baseline_windows, learn_windows=monitor.learn_windows
        )
    )


class MaintenanceService(Service):
    """Condition monitoring and predictive maintenance."""

    name: ClassVar[str] = "maintenance"
    config_sections: ClassVar[frozenset[str] | None] = frozenset(
        {"maintenance", "oee", "sites", "devices"}
    )

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.model_plugins = discover(ANOMALY_MODELS, lazy=True)  # scikit-learn: +100 MB
        self.connector_plugins = discover(MAINTENANCE_CONNECTORS, lazy=True)
        self.workers: dict[str, RequestWorker] = {}
        self._requests: list[MaintenanceRequests] = []
        self.engine = Engine(self._model)
        self.config: PlantConfig | None = None
        self.latest: dict[str, maintenance_pb2.ConditionWindow] = {}
        self.state: SavedState | None = None
        self.approvals: Approvals | None = None
        self.replay_error = ""
        self.replayed = 0
        self.feed = CycleFeed(ctx.bus, self._on_telemetry)
        self._held: list[Sample] | None = []
        """Live samples while history is replayed (None once it was)."""
        self._tick_s = float(ctx.options.get("tick_s", 10.0))
        self._history_wait_s = float(ctx.options.get("history_wait_s", 10.0))
        self._lock = asyncio.Lock()

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The MaintenanceService servicer."""
        from plantbus.maintenance.servicer import MaintenanceServicer

        return [
            GrpcBinding(
                maintenance_pb2_grpc.add_MaintenanceServiceServicer_to_server,
                MaintenanceServicer(self),
                "plantbus.v1.MaintenanceService",
            )
        ]

    def plugin_infos(self) -> Sequence[service_pb2.PluginInfo]:
        """Every anomaly model and request connector plugin, loaded or not."""
        return [*plugin_infos(self.model_plugins), *plugin_infos(self.connector_plugins)]

    def health(self) -> tuple[bool, str]:
        """Serving; the detail says when state cannot be saved or history was not read."""
        details = [self.state.saves.detail() if self.state else "", self.replay_error]
        details += [
            f"requests {n}: {w.last_error}" for n, w in self.workers.items() if w.last_error
        ]
        return True, "; ".join(d for d in details if d)

    @property
    def replaying(self) -> bool:
        """True until history was replayed (or found missing) after the first config."""
        return self._held is not None

    def _model(self, monitor: Monitor) -> AnomalyModel[Any]:
        if monitor.model == "robust":
            return robust_model(monitor)
        cls = self.model_plugins.get(monitor.model)
        model: AnomalyModel[Any] = cls(cls.Settings.model_validate(monitor.model_settings))
        return model

    async def start(self) -> None:
        """Restore counters and baselines, start the tick loop (telemetry is heard once a
        config names what to hear)."""
        kv = await streams.open_bucket(self.ctx.bus, streams.MAINTENANCE_STATE)
        await streams.ensure_stream(self.ctx.bus, streams.MAINTENANCE_OUTBOX)
        self.state = SavedState(kv, self.ctx.log)
        await self.state.load()
        self.approvals = Approvals(self.ctx, kv, lambda: self.config)
        await self.approvals.load()
        self.tasks.spawn(self._tick_loop(), name="maintenance-tick")

    async def stop(self) -> None:
        """Stop hearing telemetry; save counters and baselines."""
        await self.feed.stop()
        await self.tasks.close()
        await self._stop_workers()
        await self._save()
        await super().stop()

    async def _stop_workers(self) -> None:
        for worker in self.workers.values():
            await worker.stop()
        self.workers = {}

    async def _start_workers(self, wanted: list[MaintenanceRequests]) -> None:
        """A worker per request connector; a connector that cannot run is logged."""
        await self._stop_workers()
        self._requests = wanted
        assert self.state is not None
        for cfg in wanted:
            try:
                cls = self.connector_plugins.get(cfg.connector)
                connector: MaintenanceConnector[Any] = cls(plugin_settings(cls, cfg.settings))
            except (PlantbusError, ValueError) as err:
                self.ctx.log.error("maintenance requests %s cannot run: %s", cfg.name, err)
                continue
            worker = RequestWorker(self.ctx.bus, self.state.kv, cfg.name, connector)
            await worker.start()
            self.workers[cfg.name] = worker

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take components, monitors and plans live; the first version restores what KV
        kept and starts the replay of history."""
        first = self.config is None
        self.config = config
        async with self._lock:
            self.engine.configure(config, time.time())
            if self.state is not None:
                self.state.restore(self.engine, self._model)
        await self.feed.follow(self.engine.wanted())
        if config.maintenance.requests != self._requests or first:
            await self._start_workers(config.maintenance.requests)
        if first:
            self.tasks.spawn(self._replay(), name="maintenance-replay")
        self.config_version = version

    async def _on_telemetry(self, msg: telemetry_pb2.TagSampleBatch) -> None:
        wants = self.engine.wants
        for sample in msg.samples:
            if sample.quality != telemetry_pb2.QUALITY_GOOD or not wants(sample.path):
                continue
            value = codec.scalar(sample.value)
            t = sample.source_time.ToMicroseconds() / 1e6
            if self._held is not None:
                self._held.append((sample.path, t, value))
            elif events := self.engine.sample(sample.path, t, value):
                await self._publish(events)

    async def _replay(self) -> None:
        """History of the monitored tags and their state tags through the engine (usage
        is not counted again), then the samples held meanwhile."""
        try:
            assert self.config is not None
            samples = await history(
                self.ctx.bus, self.ctx.grpc_tls, self.config, self.engine, self._history_wait_s
            )
        except (PlantbusError, OSError, grpc.aio.AioRpcError) as err:  # no historian: from now
            self.replay_error = f"no history replayed ({err}); forecasts start from now"
            self.ctx.log.warning("%s", self.replay_error)
            samples = []
        async with self._lock:
            for path, t, value in samples:
                self.engine.sample(path, t, value, replay=True)
            self.replayed = len(samples)
            held, self._held = self._held or [], None
            for path, t, value in held:
                await self._publish(self.engine.sample(path, t, value))
        if samples:
            self.ctx.log.info("replayed %d samples of history", len(samples))

    async def _publish(self, events: list[Event]) -> None:
        for e in events:
            usage = self.engine.usage.get((e.machine, e.component)) if e.component else None
            msg = convert.event(e, self.engine.plans, usage)
            if e.kind == "window":
                self.latest[msg.window.tag] = msg.window
            site, area, line, machine = e.machine.split("/")
            await self.ctx.bus.publish(subjects.maintenance(site, area, line, machine), msg)
            if e.kind in ("warning", "due") and self.state and self.approvals:
                plan = self.engine.plans[e.plan]
                await queue_requests(
                    self.ctx.bus, self.state.kv, self._requests, plan, e, self.ctx.log
                )
                if auto := await self.approvals.on_event(plan, e):
                    self.tasks.spawn(self.approvals.apply_alone(auto), name=f"apply-{auto.id}")

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            if self._held is None:
                await self._publish(self.engine.tick(time.time()))
            await self._save()

    async def _save(self) -> None:
        if self.state is not None:
            await self.state.save(self.engine)

    def status(self, machine: str) -> maintenance_pb2.GetMaintenanceStatusResponse:
        """Counters, plans and latest windows of ``machine`` (every machine for '')."""
        return convert.status(self.engine, self.latest, machine, time.time())

    async def record(
        self, machine: str, component: str, note: str, who: str
    ) -> maintenance_pb2.ComponentUsage:
        """Maintenance done: audited with who and what, counters reset, published."""
        component = component or "machine"
        audit = functools.partial(
            self.ctx.audit, action="maintenance.record", target=f"{machine}/{component}", actor=who
        )
        try:
            usage = self._recordable(machine, component, note)
        except PlantbusError as exc:
            await audit(outcome=service_pb2.AUDIT_OUTCOME_DENIED, detail=str(exc))
            raise
        await audit(outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT, detail=note)
        async with self._lock:
            event = self.engine.done(machine, component, time.time(), note, who)
            before = convert.usage(machine, component, usage, event.usage)
            await self._publish([event])
        await self._save()
        figures = {k: f"{v:.6g}" for k, v in event.usage.items()}
        await audit(outcome=service_pb2.AUDIT_OUTCOME_SUCCESS, detail=note, attributes=figures)
        return before

    def _recordable(self, machine: str, component: str, note: str) -> Usage:
        """The counters that a record of ``component`` resets; says why it cannot be."""
        if not note.strip():
            raise ValidationFailed('say what was done (-m "replaced the bearing")')
        usage = self.engine.usage.get((machine, component))
        if usage is None:
            known = ", ".join(sorted(c for m, c in self.engine.usage if m == machine))
            raise NotFound(
                f"no component {component!r} of machine {machine!r}"
                + (f" (it has: {known})" if known else " (unknown machine)")
            )
        return usage
