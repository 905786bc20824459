"""The alerting service: evaluates rules over telemetry and OEE snapshots, runs each alarm
through the ISA-18.2 lifecycle, persists alarm state in KV, publishes every state change
and hands new alarms to notifier plugins.

Time: every delay, expiry and duration runs on ``time.monotonic()`` (``now`` below), so a
wall-clock jump changes none of them; ``time.time()`` only stamps what people see.

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
import dataclasses
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from plantbus.alerting.conditions import Condition
from plantbus.alerting.convert import event_of
from plantbus.alerting.delivery import Delivery
from plantbus.alerting.lifecycle import PROCESS_LOCAL, Alarm, AlarmState
from plantbus.alerting.machine_state import MachineStates
from plantbus.alerting.messages import render
from plantbus.alerting.metrics import FloodDetector, area_of
from plantbus.alerting.positions import Positions
from plantbus.alerting.suppression import DesignSuppression
from plantbus.config import PlantConfig
from plantbus.config.alarms import AlarmManagement
from plantbus.config.rules import RuleBase
from plantbus.kit import codec, streams, subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import kv_key
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tasks import cancel
from plantbus.plugins import NOTIFIERS, discover, plugin_infos
from plantbus.sdk.errors import NotFound, PlantbusError
from plantbus.sdk.notifier import AlarmNotification
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, oee_pb2, service_pb2, telemetry_pb2

__all__ = ["AlertingService"]

_TRANSITIONS = otel.meter("plantbus.alerting").create_counter(
    "plantbus.alarm.transitions", description="Alarm state changes, by new state and priority"
)
_ACTIVE = otel.Gauge(
    "plantbus.alerting", "plantbus.alarm.active", "Alarms not in normal state, by priority"
)

FLOOD_RULE = "alarm_flood"
DEFAULT_MAX_SHELVE_S: float = RuleBase.model_fields["max_shelve_s"].default
"""Shelving limit for alarms without a rule of their own (the flood alarm)."""


def _key(alarm_id: str) -> str:
    return kv_key(alarm_id.replace("@", "="))


def _stored(alarm: Alarm, transitions: int) -> bytes:
    """An alarm's state as kept in KV (wall-clock times only), with its transition count."""
    doc = dataclasses.asdict(alarm)
    doc["state"] = str(alarm.state)
    for name in PROCESS_LOCAL:
        del doc[name]
    doc[_COUNT] = transitions
    return json.dumps(doc).encode()


_COUNT = "transitions"


def _subject(alarm: Alarm) -> str:
    parts = alarm.scope.split("/") + ["all"] * 4
    return subjects.alarm(parts[0], parts[1], parts[2], parts[3], alarm.rule)


class AlertingService(Service):
    """Alarms per ISA-18.2."""

    name: ClassVar[str] = "alerting"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.rules: dict[str, RuleBase] = {}
        self.alarms: dict[str, Alarm] = {}
        self.conditions: dict[str, Condition] = {}
        self.by_tag: dict[str, list[str]] = {}
        self.last_good: dict[str, float] = {}
        self.machine_states = MachineStates()
        self.history: deque[alerting_pb2.AlarmEvent] = deque(maxlen=1000)
        self.listeners: set[asyncio.Queue[alerting_pb2.AlarmEvent]] = set()
        self.deliveries: list[Delivery] = []
        self.flood = FloodDetector()
        self.management = AlarmManagement()
        self.positions = Positions()
        self.design = DesignSuppression()
        self.kept_since = time.time()
        """Since when ``history`` holds every state change (later once it is full)."""
        self.notifier_plugins = discover(NOTIFIERS)
        self._kv: KeyValue | None = None
        self.saves = StoreHealth(f"alarm states in KV {streams.ALARM_STATE.name}", ctx.log)
        self._unsaved: dict[str, bytes] = {}
        """Alarm id to the latest state whose save failed, tried again on the next save."""
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unwatch: Callable[[], None] = lambda: None
        self._restored: dict[str, dict[str, Any]] = {}
        self.transitions: dict[str, int] = {}
        """Per alarm, the state changes published so far (its transition ids)."""
        self._notified: KeyValue | None = None
        self._config: PlantConfig | None = None
        self._scopes: ScopeOwner | None = None
        self._areas: set[str] = set()
        """The areas this replica runs (its share, once taken)."""

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
        return plugin_infos(self.notifier_plugins)

    def health(self) -> tuple[bool, str]:
        """Serving once this replica runs its share of the areas (readiness); the detail
        names the share and alarm states that could not be saved (the KV store full)."""
        share = self._scopes.describe() if self._scopes else ""
        unsaved = f"{len(self._unsaved)} alarm states wait to be saved" if self.saves.error else ""
        details = (share, self.saves.detail(), unsaved)
        settled = self._scopes is None or self._scopes.settled()
        return settled, "; ".join(d for d in details if d)

    async def start(self) -> None:
        """Subscribe to telemetry and OEE, start the tick loop; the alarms of this replica's
        areas are restored once the first config says which."""
        self._kv = await streams.open_bucket(self.ctx.bus, streams.ALARM_STATE)
        self._notified = await streams.open_bucket(self.ctx.bus, streams.NOTIFIED)
        self._scopes = await open_scopes(self.ctx, self)
        bus = self.ctx.bus
        self._subs.append(await bus.subscribe(f"{subjects.PREFIX}.telemetry.>", self._on_telemetry))
        self._subs.append(await bus.subscribe(f"{subjects.PREFIX}.oee.>", self._on_oee))
        self._spawn(self._tick_loop())
        self._unwatch = _ACTIVE.watch(self._active)

    def _active(self) -> list[tuple[float, dict[str, str]]]:
        counts = Counter(a.priority for a in self.alarms.values() if a.state != AlarmState.NORMAL)
        return [(n, {"priority": priority}) for priority, n in counts.items()]

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Stop evaluating; alarm states are in KV (a last try for any whose save failed);
        give the areas back."""
        self._unwatch()
        if self._scopes is not None:
            await self._scopes.stop()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await cancel(list(self._tasks))
        await self._save()
        for delivery in self.deliveries:
            with contextlib.suppress(Exception):
                await delivery.notifier.close()

    def holds(self, scope: str) -> bool:
        """Whether this replica may publish for an alarm of ``scope`` right now."""
        return self._scopes is None or self._scopes.holds(area_of(scope))

    async def take(self, scopes: set[str]) -> None:
        """Run these areas too: their alarms as the last holder saved them."""
        self._restored.update(await self._saved(scopes))
        self._areas |= scopes
        if self._config is not None:
            self._rules(self._config)
            await self._resuppress()

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop running these areas (their states are saved on every change)."""
        if save:
            await self._save()
        self._areas -= scopes
        for alarm_id, alarm in list(self.alarms.items()):
            if area_of(alarm.scope) in scopes:
                del self.alarms[alarm_id]
                self.conditions.pop(alarm_id, None)
                self._unsaved.pop(alarm_id, None)
        if self._config is not None:
            self._rules(self._config)
            await self._resuppress()

    async def _saved(self, areas: set[str]) -> dict[str, dict[str, Any]]:
        """KV key to saved alarm state, for the alarms of ``areas``."""
        out: dict[str, dict[str, Any]] = {}
        if self._kv is None:
            return out
        with contextlib.suppress(Exception):  # an empty bucket has no keys
            for key in await self._kv.keys():
                entry = await self._kv.get(key)
                if entry.value:
                    saved = json.loads(entry.value)
                    if area_of(saved.get("scope", "")) in areas:
                        out[key] = saved
        return out

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Take rules, alarm management and notifiers live; alarms of removed rules
        disappear."""
        self._config = config
        self.management = config.alarm_management
        self.positions = Positions(config.operator_positions())
        self.flood.window_s = self.management.period_s
        self.flood.start, self.flood.end = self.management.flood_start, self.management.flood_end
        self._rules(config)
        await self._resuppress()
        self.machine_states.configure(config.oee)
        self.deliveries = self._deliveries(config)
        if self._scopes is not None:
            self._scopes.configure({area_of(r.scope) for r in config.alert_rules})
            if not self._scopes.started:
                await self._scopes.step()  # alone, it runs every area from its first config
                self._scopes.start()
        self.config_version = version

    def _rules(self, config: PlantConfig) -> None:
        """The rules of this replica's areas, with their alarms and conditions."""
        wanted: dict[str, RuleBase] = {
            f"{r.name}@{r.scope}": r
            for r in config.alert_rules
            if self._scopes is None or area_of(r.scope) in self._areas
        }
        self.rules = wanted
        for alarm_id in list(self.alarms):
            flood = alarm_id.startswith(FLOOD_RULE)
            if (alarm_id not in wanted and not flood) or (
                flood and self._scopes is not None and alarm_id.split("@")[-1] not in self._areas
            ):
                del self.alarms[alarm_id]
                self.conditions.pop(alarm_id, None)
        self.by_tag = {}
        for alarm_id, rule in wanted.items():
            if alarm_id not in self.alarms or self.conditions[alarm_id].rule != rule:
                self.alarms[alarm_id] = self._new_alarm(alarm_id, rule)
                self.conditions[alarm_id] = Condition(rule, active=self.alarms[alarm_id].active)
            if rule.tag_path:
                self.by_tag.setdefault(rule.tag_path, []).append(alarm_id)
        self.design.configure(self.management.suppressions, wanted)

    def _new_alarm(self, alarm_id: str, rule: RuleBase) -> Alarm:
        alarm = Alarm(alarm_id, rule.name, rule.scope, rule.priority, changed_at=time.time())
        saved = self._restored.pop(_key(alarm_id), None)
        if saved:
            self.transitions[alarm_id] = int(saved.pop(_COUNT, 0))
            saved["state"] = AlarmState(saved["state"])
            alarm = Alarm(**saved)
            alarm.rebase(time.time(), time.monotonic())
        alarm.priority, alarm.latching, alarm.realarm_s = (
            rule.priority,
            rule.latching,
            rule.realarm_s,
        )
        return alarm

    def _deliveries(self, config: PlantConfig) -> list[Delivery]:
        out = []
        for cfg in config.notifiers:
            try:
                cls = self.notifier_plugins.get(cfg.plugin)
                out.append(Delivery(cfg, cls(plugin_settings(cls, cfg.settings))))
            except (PlantbusError, ValueError) as err:
                self.ctx.log.error("notifier %s cannot run: %s", cfg.name, err)
        return out

    async def _on_telemetry(self, subject: str, msg: Message, raw: Msg) -> None:
        if not isinstance(msg, telemetry_pb2.TagSampleBatch):
            return
        now = time.monotonic()
        for sample in msg.samples:
            good = sample.quality == telemetry_pb2.QUALITY_GOOD
            value = codec.scalar(sample.value)
            machine_state = self.machine_states.from_tag(sample.path, value) if good else None
            if machine_state is not None:
                await self._machine_state(*machine_state, now)
            if good and sample.path in self.design.tags and self.design.tag(sample.path, value):
                await self._resuppress()
            ids = self.by_tag.get(sample.path)
            if not ids:
                continue
            if good:
                self.last_good[sample.path] = now
            for alarm_id in ids:
                cond = self.conditions[alarm_id]
                if cond.sample(value, now, good):
                    await self._condition(alarm_id, cond.active, value, now)

    async def _on_oee(self, subject: str, msg: Message, raw: Msg) -> None:
        if not isinstance(msg, oee_pb2.OeeSnapshot):
            return
        now = time.monotonic()
        if msg.state:
            await self._machine_state(msg.scope, msg.state, now)
        oee = msg.oee if msg.HasField("oee") else None
        for alarm_id, cond in self.conditions.items():
            if cond.oee(msg.scope, oee, now):
                await self._condition(alarm_id, cond.active, round(msg.oee, 4), now)

    async def _machine_state(self, machine: str, state: str, now: float) -> None:
        """A machine's state as reported: a planned stop suppresses its alarms (checked on
        every report, so alarms of a rule added during the stop are suppressed too)."""
        self.machine_states.observe(machine, state, now)
        flipped = self.design.machine_state(machine, state)
        await self._resuppress(None if flipped else machine)

    async def _resuppress(self, machine: str | None = None) -> None:
        """Suppression by design of every alarm (of ``machine`` only): in a planned stop
        for rules with ``suppress_in_planned_stop``, or while a configured suppression
        holds."""
        wall = time.time()
        for alarm in list(self.alarms.values()):
            rule = self.rules.get(alarm.id)
            if rule is None or (machine is not None and alarm.scope != machine):
                continue
            planned = rule.suppress_in_planned_stop and (
                self.machine_states.state_of(alarm.scope) == "planned_stop"
            )
            why = "planned stop" if planned else self.design.by(alarm.id)
            if alarm.suppress(why is not None, wall, why or ""):
                await self._changed(alarm)

    async def _condition(self, alarm_id: str, active: bool, value: Any, now: float) -> None:
        alarm = self.alarms[alarm_id]
        alarm.value = value
        rule = self.rules.get(alarm_id)
        if rule:
            alarm.message = render(rule.message, rule.name, alarm.scope, value, rule.shown_limit)
        if alarm.condition(active, time.time()):
            if alarm.state == AlarmState.UNACK:
                self.flood.annunciated(self.positions.of(alarm.scope), now)
            await self._changed(alarm)
            if self.design.alarm(alarm_id, active):
                await self._resuppress()

    async def _changed(self, alarm: Alarm) -> None:
        if not self.holds(alarm.scope):
            return  # another replica runs this area now (or will once this one's lease lapsed)
        _TRANSITIONS.add(1, {"state": str(alarm.state), "priority": alarm.priority})
        n = self.transitions[alarm.id] = self.transitions.get(alarm.id, 0) + 1
        transition = f"{alarm.id}#{n}"
        event = event_of(alarm)
        if len(self.history) == self.history.maxlen:
            self.kept_since = self.history[-1].time.ToMicroseconds() / 1e6 + 1e-6
        self.history.appendleft(event)
        for queue in self.listeners:
            if queue.qsize() < 1000:
                queue.put_nowait(event)
        await self.ctx.bus.publish(_subject(alarm), event, headers={"Nats-Msg-Id": transition})
        await self._save(alarm)
        if alarm.state == AlarmState.UNACK:
            note = AlarmNotification(
                alarm_id=alarm.id,
                rule=alarm.rule,
                machine=alarm.scope,
                state=str(alarm.state),
                priority=alarm.priority,
                message=alarm.message,
                value=alarm.value if isinstance(alarm.value, float | str) else None,
                time=event.time.ToDatetime(),
                actor="",
            )
            for delivery in self.deliveries:
                if not await self._first_notice(delivery.config.name, transition):
                    continue
                task = delivery.offer(note)
                if task is not None:
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _save(self, alarm: Alarm | None = None) -> None:
        """Store an alarm's state, and every state whose save failed before. A failure (the
        KV store full, NATS away) is kept in ``saves`` for health, not raised."""
        if self._kv is None:
            return
        if alarm is not None:
            self._unsaved[alarm.id] = _stored(alarm, self.transitions.get(alarm.id, 0))
        for alarm_id, doc in list(self._unsaved.items()):
            if not await self.saves.put(self._kv, _key(alarm_id), doc):
                return
            if self._unsaved.get(alarm_id) is doc:  # not changed again meanwhile
                del self._unsaved[alarm_id]

    async def _first_notice(self, notifier: str, transition: str) -> bool:
        """Whether this replica is the first to give ``transition`` to ``notifier`` (its
        entry created here); True too when NATS does not answer (rather a notification
        twice than none)."""
        if self._notified is None:
            return True
        try:
            await self._notified.create(kv_key(f"{notifier}.{transition.replace('@', '=')}"), b"")
        except KeyWrongLastSequenceError:
            return False
        except Exception as err:  # noqa: BLE001 - NATS away: deliver anyway
            self.ctx.log.warning("notification of %s not deduplicated: %s", transition, err)
        return True

    async def _tick_loop(self) -> None:
        retry_at = 0.0
        while True:
            await asyncio.sleep(0.1)
            await self.tick(time.monotonic())
            if self._unsaved and time.monotonic() >= retry_at:  # no change may come soon
                retry_at = time.monotonic() + 1.0
                await self._save()

    async def tick(self, now: float) -> None:
        """Time-driven checks at ``now`` (monotonic): pending delays, stale data, states held
        too long, shelving expiry and floods."""
        wall = time.time()
        for alarm_id, cond in list(self.conditions.items()):
            alarm = self.alarms[alarm_id]
            if cond.tick(self, now):
                value = alarm.value if cond.last_value is None else cond.last_value
                await self._condition(alarm_id, cond.active, value, now)
            if alarm.expire(wall, now) or alarm.realarm(wall, now):
                await self._changed(alarm)
        for area, flooding in self.flood.update(now).items():
            alarm_id = f"{FLOOD_RULE}@{area}"
            if alarm_id not in self.alarms and (saved := self._restored.pop(_key(alarm_id), None)):
                self.transitions[alarm_id] = int(saved.get(_COUNT, 0))
            alarm = self.alarms.setdefault(alarm_id, Alarm(alarm_id, FLOOD_RULE, area, "high"))
            alarm.message = f"alarm flood in {area}: more than {self.flood.start} alarms in 10 min"
            if alarm.condition(flooding, wall):
                await self._changed(alarm)

    def seconds_since_good(self, tag_path: str, now: float) -> float:
        """How long ``tag_path`` has had no good sample (counted from the first look)."""
        return now - self.last_good.setdefault(tag_path, now)

    def seconds_in_state(self, machine: str, state: str, now: float) -> float:
        """How long ``machine`` has been in ``state``."""
        return self.machine_states.held(machine, state, now)

    def alarm(self, alarm_id: str) -> Alarm:
        """An alarm by id; NotFound lists how ids look."""
        alarm = self.alarms.get(alarm_id)
        if alarm is None:
            raise NotFound(f"no alarm {alarm_id!r} (ids look like rule@site/area/line/machine)")
        return alarm

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
        try:
            alarm = self.alarm(alarm_id)
            now, mono = time.time(), time.monotonic()
            if action == "acknowledge":
                alarm.acknowledge(who, why, now, mono)
            elif action == "shelve":
                rule = self.rules.get(alarm_id)
                max_s = rule.max_shelve_s if rule else DEFAULT_MAX_SHELVE_S
                alarm.shelve(who, why, now + duration_s, now, max_s, one_shot, mono)
            elif action == "reset":
                alarm.reset(who, why, now)
            elif action == "remove_from_service":
                max_s = self.management.max_out_of_service_s
                alarm.remove_from_service(who, why, now + duration_s, now, max_s, mono)
            elif action == "return_to_service":
                alarm.return_to_service(who, now, why)
            else:
                alarm.unshelve(who, now, why)
        except PlantbusError as exc:
            await self.ctx.audit(
                action=f"alarm.{action}",
                target=alarm_id,
                actor=who,
                outcome=service_pb2.AUDIT_OUTCOME_DENIED,
                detail=str(exc),
                attributes=attributes,
            )
            raise
        await self._changed(alarm)
        await self.ctx.audit(
            action=f"alarm.{action}",
            target=alarm_id,
            actor=who,
            detail=why or action,
            attributes={"state": str(alarm.state), **attributes},
        )
        return alarm
