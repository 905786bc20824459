"""The maintenance service: usage counters, condition indicators, anomaly scores and
forecasts from the telemetry, plan states, events on the machines' maintenance subjects
(docs/maintenance.md).

Telemetry comes as core NATS messages (as the alerting service hears it). At the first
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
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import grpc
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.config.maintenance import MaintenanceRequests, Monitor
from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import kv_key
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import channel
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tasks import cancel
from plantbus.maintenance import convert
from plantbus.maintenance.anomaly import RobustBaseline, RobustSettings
from plantbus.maintenance.engine import Engine, Event
from plantbus.maintenance.requests import RequestWorker, enqueue, request_key, request_of
from plantbus.maintenance.usage import Usage
from plantbus.plugins import ANOMALY_MODELS, MAINTENANCE_CONNECTORS, discover, plugin_infos
from plantbus.sdk.errors import NotFound, PlantbusError, ValidationFailed
from plantbus.sdk.maintenance import AnomalyModel, MaintenanceConnector
from plantbus.v1 import (
    historian_pb2,
    historian_pb2_grpc,
    maintenance_pb2,
    maintenance_pb2_grpc,
    service_pb2,
    telemetry_pb2,
)

__all__ = ["MaintenanceService", "robust_model"]

_MAX_REPLAY_H: Final = 7 * 24.0
_PAGE: Final = 50_000


def _usage_key(machine: str, component: str) -> str:
    return "usage." + kv_key(f"{machine}/{component}".replace("/", "."))


def _baseline_key(tag: str, state: str) -> str:
    return "baseline." + kv_key(f"{tag}/{state}".replace("/", "."))


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

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.model_plugins = discover(ANOMALY_MODELS)
        self.connector_plugins = discover(MAINTENANCE_CONNECTORS)
        self.workers: dict[str, RequestWorker] = {}
        self._requests: list[MaintenanceRequests] = []
        self.engine = Engine(self._model)
        self.config: PlantConfig | None = None
        self.latest: dict[str, maintenance_pb2.ConditionWindow] = {}
        self.saves = StoreHealth(
            f"maintenance state in KV {streams.MAINTENANCE_STATE.name}", ctx.log
        )
        self.replay_error = ""
        self.replayed = 0
        self._kv: KeyValue | None = None
        self._restored: dict[str, Any] = {}
        self._sub: Subscription | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: list[tuple[str, float, object]] | None = []
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
        details = [self.saves.detail(), self.replay_error]
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
        assert issubclass(cls, AnomalyModel)
        model: AnomalyModel[Any] = cls(cls.Settings.model_validate(monitor.model_settings))
        return model

    async def start(self) -> None:
        """Restore counters and baselines, hear telemetry, start the tick loop."""
        self._kv = await streams.open_bucket(self.ctx.bus, streams.MAINTENANCE_STATE)
        await streams.ensure_stream(self.ctx.bus, streams.MAINTENANCE_OUTBOX)
        with contextlib.suppress(Exception):  # an empty bucket has no keys
            for key in await self._kv.keys():
                entry = await self._kv.get(key)
                if entry.value:
                    self._restored[key] = json.loads(entry.value)
        self._sub = await self.ctx.bus.subscribe(
            f"{subjects.PREFIX}.telemetry.>", self._on_telemetry
        )
        self._spawn(self._tick_loop())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Stop hearing telemetry; save counters and baselines."""
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        await cancel(list(self._tasks))
        await self._stop_workers()
        await self._save()

    async def _stop_workers(self) -> None:
        for worker in self.workers.values():
            await worker.stop()
        self.workers = {}

    async def _start_workers(self, wanted: list[MaintenanceRequests]) -> None:
        """A worker per request connector; a connector that cannot run is logged."""
        await self._stop_workers()
        self._requests = wanted
        assert self._kv is not None
        for cfg in wanted:
            try:
                cls = self.connector_plugins.get(cfg.connector)
                assert issubclass(cls, MaintenanceConnector)
                connector = cls(plugin_settings(cls, cfg.settings))
            except (PlantbusError, ValueError) as err:
                self.ctx.log.error("maintenance requests %s cannot run: %s", cfg.name, err)
                continue
            worker = RequestWorker(self.ctx.bus, self._kv, cfg.name, connector)
            await worker.start()
            self.workers[cfg.name] = worker

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take components, monitors and plans live; the first version restores what KV
        kept and starts the replay of history."""
        first = self.config is None
        self.config = config
        async with self._lock:
            self.engine.configure(config, time.time())
            self._restore()
        if config.maintenance.requests != self._requests or first:
            await self._start_workers(config.maintenance.requests)
        if first:
            self._spawn(self._replay())
        self.config_version = version

    def _restore(self) -> None:
        """Counters and baselines kept in KV for what the config has (once each)."""
        for (machine, component), _ in list(self.engine.usage.items()):
            doc = self._restored.pop(_usage_key(machine, component), None)
            if doc:
                self.engine.usage[(machine, component)] = Usage.from_json(doc)
        for tag, mon in self.engine.monitored.items():
            for state in mon.monitor.states:
                doc = self._restored.pop(_baseline_key(tag, state), None)
                if doc:
                    model = mon.models[state] = self._model(mon.monitor)
                    model.restore(doc)

    async def _on_telemetry(self, subject: str, msg: Message, raw: Msg) -> None:
        if not isinstance(msg, telemetry_pb2.TagSampleBatch):
            return
        for sample in msg.samples:
            if sample.quality != telemetry_pb2.QUALITY_GOOD:
                continue
            value = codec.scalar(sample.value)
            t = sample.source_time.ToMicroseconds() / 1e6
            if self._held is not None:
                self._held.append((sample.path, t, value))
                continue
            await self._publish(self.engine.sample(sample.path, t, value))

    async def _replay(self) -> None:
        """History of the monitored tags and their state tags through the engine (usage
        is not counted again), then the samples held meanwhile."""
        try:
            samples = await self._history()
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

    async def _history(self) -> list[tuple[str, float, object]]:
        config = self.config
        if config is None or not config.maintenance.monitors:
            return []
        span_h = max(
            [p.forecast_window_h for p in config.maintenance.plans if p.by == "condition"]
            + [m.window_s * m.learn_windows / 3600 for m in config.maintenance.monitors]
        )
        span_h = min(span_h, _MAX_REPLAY_H)
        paths = sorted(
            set(self.engine.monitored)
            | {
                path
                for path in self.engine.state_codes
                if any(path.rsplit("/", 1)[0] == m.machine for m in self.engine.monitored.values())
            }
        )
        request = historian_pb2.QueryHistoryRequest(paths=paths, page_size=_PAGE)
        now = time.time()
        request.start.CopyFrom(codec.timestamp(now - span_h * 3600))
        request.end.CopyFrom(codec.timestamp(now))
        out: list[tuple[str, float, object]] = []
        address = await grpc_address(self.ctx.bus, "historian", wait_s=self._history_wait_s)
        async with channel(address, self.ctx.grpc_tls) as chan:
            stub = historian_pb2_grpc.HistorianServiceStub(chan)
            while True:
                reply = await stub.QueryHistory(request, timeout=60)
                for tag in reply.tags:
                    for s in tag.samples:
                        if s.quality == telemetry_pb2.QUALITY_GOOD:
                            value = codec.scalar(s.value)
                            out.append((tag.path, s.time.ToMicroseconds() / 1e6, value))
                if not reply.next_page_token:
                    break
                request.page_token = reply.next_page_token
        out.sort(key=lambda row: row[1])
        return out

    async def _publish(self, events: list[Event]) -> None:
        for e in events:
            usage = self.engine.usage.get((e.machine, e.component)) if e.component else None
            msg = convert.event(e, self.engine.plans, usage)
            if e.kind == "window":
                self.latest[msg.window.tag] = msg.window
            site, area, line, machine = e.machine.split("/")
            await self.ctx.bus.publish(subjects.maintenance(site, area, line, machine), msg)
            if e.kind in ("warning", "due") and e.status is not None:
                await self._request(e, e.status.epoch)

    async def _request(self, e: Event, epoch: int) -> None:
        """Queue the plan's request for every connector that wants this level, once."""
        plan = self.engine.plans[e.plan]
        remaining = e.status.remaining if e.status else None
        due_in_h = {
            "running_hours": remaining,
            "calendar_days": None if remaining is None else remaining * 24,
            "condition": remaining,
        }.get(plan.by)
        for cfg in self._requests:
            if e.kind not in cfg.on or self._kv is None:
                continue
            key = request_key(plan.name, epoch, e.kind, cfg.name)
            request = request_of(
                key,
                cfg.name,
                plan.name,
                e.machine,
                plan.component,
                e.kind,
                e.message,
                e.time,
                e.usage,
                due_in_h,
            )
            try:
                if await enqueue(self.ctx.bus, self._kv, request):
                    self.ctx.log.info("maintenance request %s queued", key)
            except Exception as err:  # noqa: BLE001 - NATS away: the next level change asks again
                self.ctx.log.error("maintenance request %s not queued: %s", key, err)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            if self._held is None:
                await self._publish(self.engine.tick(time.time()))
            await self._save()

    async def _save(self) -> None:
        """Counters and baselines into KV; a failure is kept for health, not raised."""
        if self._kv is None:
            return
        for (machine, component), usage in list(self.engine.usage.items()):
            doc = json.dumps(usage.to_json()).encode()
            if not await self.saves.put(self._kv, _usage_key(machine, component), doc):
                return
        for tag, mon in list(self.engine.monitored.items()):
            for state, model in list(mon.models.items()):
                doc = json.dumps(dict(model.state())).encode()
                if not await self.saves.put(self._kv, _baseline_key(tag, state), doc):
                    return

    def status(self, machine: str) -> maintenance_pb2.GetMaintenanceStatusResponse:
        """Counters, plans and latest windows of ``machine`` (every machine for '')."""
        now = time.time()
        out = maintenance_pb2.GetMaintenanceStatusResponse()
        for (m, component), usage in sorted(self.engine.usage.items()):
            if machine in ("", m):
                out.usage.append(convert.usage(m, component, usage, usage.figures(now)))
        for st in self.engine.statuses(now):
            plan = self.engine.plans[st.plan]
            if machine in ("", plan.machine):
                trend = self.engine.trends.get(plan.name)
                out.plans.append(convert.plan_state(plan, st, trend.last if trend else None))
        out.windows.extend(
            w for tag, w in sorted(self.latest.items()) if machine in ("", tag.rsplit("/", 1)[0])
        )
        return out

    async def record(
        self, machine: str, component: str, note: str, who: str
    ) -> maintenance_pb2.ComponentUsage:
        """Maintenance done: audited with who and what, counters reset, published."""
        component = component or "machine"
        target = f"{machine}/{component}"
        try:
            if not note.strip():
                raise ValidationFailed('say what was done (-m "replaced the bearing")')
            usage = self.engine.usage.get((machine, component))
            if usage is None:
                known = ", ".join(sorted(c for m, c in self.engine.usage if m == machine))
                raise NotFound(
                    f"no component {component!r} of machine {machine!r}"
                    + (f" (it has: {known})" if known else " (unknown machine)")
                )
        except PlantbusError as exc:
            await self.ctx.audit(
                action="maintenance.record",
                target=target,
                actor=who,
                outcome=service_pb2.AUDIT_OUTCOME_DENIED,
                detail=str(exc),
            )
            raise
        await self.ctx.audit(
            action="maintenance.record",
            target=target,
            actor=who,
            outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT,
            detail=note,
        )
        async with self._lock:
            event = self.engine.done(machine, component, time.time(), note, who)
            before = convert.usage(machine, component, usage, event.usage)
            await self._publish([event])
        await self._save()
        await self.ctx.audit(
            action="maintenance.record",
            target=target,
            actor=who,
            outcome=service_pb2.AUDIT_OUTCOME_SUCCESS,
            detail=note,
            attributes={k: f"{v:.6g}" for k, v in event.usage.items()},
        )
        return before
