"""The alerting service: evaluates rules over telemetry, OEE snapshots and maintenance
events (:mod:`~plantbus.alerting.evaluation`), runs each alarm through the ISA-18.2 lifecycle,
persists alarm state in KV (:mod:`~plantbus.alerting.store`), publishes every state
change and hands new alarms to notifier plugins (:mod:`~plantbus.alerting.notices`).

Replicas: each area is a scope (:mod:`plantbus.kit.scopes`; an area, since flood
detection counts an area's alarms) run by one replica at a time under a KV lease, which
publishes, saves and notifies for it only while it holds the lease. Each alarm counts its
transitions (saved with its state); a transition is published with the message id
``<alarm>#<n>``, so the events stream keeps it once when a replica that took the area over
publishes it again (its state was saved after the publish), and a notifier is given it
only by the replica that first creates its entry in ``plantbus_notified``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import ClassVar

import nats.errors
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.alerting.actions import act
from plantbus.alerting.conditions import Condition
from plantbus.alerting.convert import event_of
from plantbus.alerting.delivery import Delivery
from plantbus.alerting.evaluation import Evaluation
from plantbus.alerting.feed import TelemetryFeed
from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.alerting.metrics import area_of
from plantbus.alerting.notices import Notices
from plantbus.alerting.store import AlarmStore
from plantbus.config import PlantConfig
from plantbus.kit import streams, subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.plugins import plugin_infos
from plantbus.sdk.errors import PlantbusError
from plantbus.v1 import (
    alerting_pb2,
    alerting_pb2_grpc,
    maintenance_pb2,
    oee_pb2,
    service_pb2,
)

__all__ = ["AlertingService"]

_TRANSITIONS = otel.meter("plantbus.alerting").create_counter(
    "plantbus.alarm.transitions", description="Alarm state changes, by new state and priority"
)
_ACTIVE = otel.Gauge(
    "plantbus.alerting", "plantbus.alarm.active", "Alarms not in normal state, by priority"
)
_UNSUBSCRIBED = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.BadSubscriptionError,
)
"""What ``unsubscribe`` raises when the connection or the subscription is already gone."""


def _subject(alarm: Alarm) -> str:
    parts = alarm.scope.split("/") + ["all"] * 4
    return subjects.alarm(parts[0], parts[1], parts[2], parts[3], alarm.rule)


class AlertingService(Service):
    """Alarms per ISA-18.2."""

    name: ClassVar[str] = "alerting"
    config_sections: ClassVar[frozenset[str] | None] = frozenset(
        {"alert_rules", "notifiers", "alarm_management", "sites", "oee", "maintenance"}
    )

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.store = AlarmStore(ctx.log)
        self.evaluation = Evaluation(self.store, self._changed)
        self.notices = Notices(self.tasks, ctx.log)
        self.feed = TelemetryFeed(ctx.bus, self.evaluation.telemetry, ctx.log)
        self.history: deque[alerting_pb2.AlarmEvent] = deque(maxlen=1000)
        self.listeners: set[asyncio.Queue[alerting_pb2.AlarmEvent]] = set()
        self.kept_since = time.time()
        """Since when ``history`` holds every state change (later once it is full)."""
        self._subs: list[Subscription] = []
        self._unwatch: Callable[[], None] = lambda: None
        self._config: PlantConfig | None = None
        self._scopes: ScopeOwner | None = None
        self._areas: set[str] = set()
        """The areas this replica runs (its share, once taken)."""

    @property
    def alarms(self) -> dict[str, Alarm]:
        """Alarm id (``rule@scope``) to alarm, of the areas this replica runs."""
        return self.evaluation.alarms

    @property
    def conditions(self) -> dict[str, Condition]:
        """Alarm id to its rule's debounced condition."""
        return self.evaluation.conditions

    @property
    def saves(self) -> StoreHealth:
        """Whether alarm states are being saved."""
        return self.store.saves

    @property
    def deliveries(self) -> list[Delivery]:
        """The notifiers that run."""
        return self.notices.deliveries

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The AlertingService servicer."""
        from plantbus.alerting.servicer import AlertingServicer

        return [
            GrpcBinding(
                alerting_pb2_grpc.add_AlertingServiceServicer_to_server,
                AlertingServicer(self),
                "plantbus.v1.AlertingService",
            )
        ]

    def plugin_infos(self) -> Sequence[service_pb2.PluginInfo]:
        """Every notifier plugin, loaded or not."""
        return plugin_infos(self.notices.plugins)

    def health(self) -> tuple[bool, str]:
        """Serving once this replica runs its share of the areas (readiness); the detail
        names the share and alarm states that could not be saved (the KV store full)."""
        share = self._scopes.describe() if self._scopes else ""
        waiting = len(self.store.unsaved)
        unsaved = f"{waiting} alarm states wait to be saved" if self.saves.error else ""
        details = (share, self.saves.detail(), unsaved)
        settled = self._scopes is None or self._scopes.settled()
        return settled, "; ".join(d for d in details if d)

    async def start(self) -> None:
        """Subscribe to OEE and maintenance events, start the tick loop; the alarms of
        this replica's areas are restored, and the telemetry of their tags read, once the
        first config says which."""
        await streams.ensure_stream(self.ctx.bus, streams.CYCLES)
        await self.store.open(self.ctx.bus)
        await self.notices.open(self.ctx.bus)
        self._scopes = await open_scopes(self.ctx, self)
        bus = self.ctx.bus
        self._subs.append(await bus.subscribe(f"{subjects.PREFIX}.oee.>", self._on_oee))
        maintenance = f"{subjects.PREFIX}.maintenance.>"
        self._subs.append(await bus.subscribe(maintenance, self._on_maintenance))
        self.tasks.spawn(self._tick_loop(), name="alerting-tick")
        self._unwatch = _ACTIVE.watch(self._active)

    def _active(self) -> list[tuple[float, dict[str, str]]]:
        counts = Counter(a.priority for a in self.alarms.values() if a.state != AlarmState.NORMAL)
        return [(n, {"priority": priority}) for priority, n in counts.items()]

    async def stop(self) -> None:
        """Stop evaluating; alarm states are in KV (a last try for any whose save failed);
        give the areas back."""
        self._unwatch()
        if self._scopes is not None:
            await self._scopes.stop()
        for sub in self._subs:
            with contextlib.suppress(*_UNSUBSCRIBED):  # gone with the connection
                await sub.unsubscribe()
        self._subs.clear()
        await self.feed.close()
        await self.tasks.close()
        await self.store.save()
        await self.notices.close()
        await super().stop()

    def holds(self, scope: str) -> bool:
        """Whether this replica may publish for an alarm of ``scope`` right now."""
        return self._scopes is None or self._scopes.holds(area_of(scope))

    async def take(self, scopes: set[str]) -> None:
        """Run these areas too: their alarms as the last holder saved them."""
        await self.store.load(scopes)
        self._areas |= scopes
        await self._select()

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop running these areas (their states are saved on every change)."""
        if save:
            await self.store.save()
        self._areas -= scopes
        for alarm_id in self.evaluation.drop(scopes):
            self.store.forget(alarm_id)
        await self._select()

    async def _select(self) -> None:
        """The rules of this replica's areas, suppressed as they should be, and the
        telemetry of their tags."""
        if self._config is None:
            return
        areas = None if self._scopes is None else self._areas
        self.evaluation.select(self._config.alert_rules, areas)
        await self.evaluation.resuppress()
        await self.feed.follow(self.evaluation.watched)

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take rules, alarm management and notifiers live; alarms of removed rules
        disappear."""
        self._config = config
        self.evaluation.configure(config)
        await self._select()
        self.notices.configure(config.notifiers)
        if self._scopes is not None:
            self._scopes.configure({area_of(r.scope) for r in config.alert_rules})
            if not self._scopes.started:
                await self._scopes.step()  # alone, it runs every area from its first config
                self._scopes.start()
        self.config_version = version

    async def _on_oee(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.OeeSnapshot):
            await self.evaluation.oee(msg)

    async def _on_maintenance(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, maintenance_pb2.MaintenanceEvent):
            await self.evaluation.maintenance(msg)

    async def _changed(self, alarm: Alarm) -> None:
        """Publish, keep and save a state change; a new alarm goes to the notifiers."""
        if not self.holds(alarm.scope):
            return  # another replica runs this area now (or will once this one's lease lapsed)
        _TRANSITIONS.add(1, {"state": str(alarm.state), "priority": alarm.priority})
        transition = self.store.next_transition(alarm.id)
        event = event_of(alarm)
        if len(self.history) == self.history.maxlen:
            self.kept_since = self.history[-1].time.ToMicroseconds() / 1e6 + 1e-6
        self.history.appendleft(event)
        for queue in self.listeners:
            if queue.qsize() < 1000:
                queue.put_nowait(event)
        await self.ctx.bus.publish(_subject(alarm), event, headers={"Nats-Msg-Id": transition})
        await self.store.save(alarm)
        if alarm.state == AlarmState.UNACK:
            await self.notices.notify(alarm, transition, event.time.ToDatetime())

    async def _tick_loop(self) -> None:
        retry_at = 0.0
        while True:
            await asyncio.sleep(0.1)
            await self.tick(time.monotonic())
            if self.store.unsaved and time.monotonic() >= retry_at:  # no change may come soon
                retry_at = time.monotonic() + 1.0
                await self.store.save()

    async def tick(self, now: float) -> None:
        """Time-driven checks at ``now`` (monotonic): pending delays, stale data, states held
        too long, shelving expiry and floods."""
        await self.evaluation.tick(now)

    async def operator_action(
        self,
        alarm_id: str,
        action: str,
        who: str,
        why: str,
        duration_s: float = 0.0,
        one_shot: bool = False,
    ) -> Alarm:
        """Acknowledge, shelve, unshelve, reset, remove from or return to service; every
        action is audited with who and why."""
        attributes = {"duration_s": str(duration_s) if duration_s else ""}
        if one_shot:
            attributes["one_shot"] = "true"
        audit = {"action": f"alarm.{action}", "target": alarm_id, "actor": who}
        try:
            alarm = self.evaluation.alarm(alarm_id)
            act(alarm, action, who, why, duration_s, one_shot, self.evaluation)
        except PlantbusError as exc:
            denied = service_pb2.AUDIT_OUTCOME_DENIED
            await self.ctx.audit(**audit, outcome=denied, detail=str(exc), attributes=attributes)
            raise
        await self._changed(alarm)
        attributes = {"state": str(alarm.state), **attributes}
        await self.ctx.audit(**audit, detail=why or action, attributes=attributes)
        return alarm
