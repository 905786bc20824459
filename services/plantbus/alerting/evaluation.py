"""Rule evaluation: the alarms of the rules a replica runs, judged on telemetry, OEE
snapshots, the maintenance service's events and the passing of time, with suppression by
design and flood detection.

Every state change of an alarm goes to ``changed`` (the service publishes, saves and
notifies it). Time: every delay, expiry and duration runs on ``time.monotonic()`` (``now``
below), so a wall-clock jump changes none of them; ``time.time()`` only stamps what people
see.

At plant scale (10,000 rules) nothing walks every rule per input: a sample is judged by
the rules of its tag, an OEE snapshot or maintenance event by the rules whose kind judges
those, a machine state by its machine's alarms, and a tick by the rules whose kind judges
time, the conditions whose delay runs and the alarms whose shelving, service removal or
re-alarm waits for a time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from plantbus.alerting.conditions import Condition
from plantbus.alerting.lifecycle import Alarm, AlarmState
from plantbus.alerting.machine_state import MachineStates
from plantbus.alerting.maintenance import view_of
from plantbus.alerting.messages import render
from plantbus.alerting.metrics import FloodDetector, area_of
from plantbus.alerting.performance import FLOOD_RULE
from plantbus.alerting.positions import Positions
from plantbus.alerting.store import AlarmStore
from plantbus.alerting.suppression import DesignSuppression
from plantbus.config import PlantConfig
from plantbus.config.alarms import AlarmManagement
from plantbus.config.maintenance import MaintenanceConfig
from plantbus.config.rules import RuleBase
from plantbus.kit import codec
from plantbus.sdk.errors import NotFound
from plantbus.v1 import maintenance_pb2, oee_pb2, telemetry_pb2

__all__ = ["Evaluation"]

Changed = Callable[[Alarm], Awaitable[None]]
_JUDGEMENTS = ("judge_oee", "judge_maintenance", "judge_tick")
_TIMED = frozenset({AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE})
"""States an alarm leaves when a time runs out (:meth:`Alarm.expire`)."""


def _judges(rule: RuleBase, judgement: str) -> bool:
    """Whether ``rule``'s kind makes the judgement ``judgement`` (RuleBase's says nothing)."""
    return getattr(type(rule), judgement) is not getattr(RuleBase, judgement)


class Evaluation:
    """Rules, their alarms and conditions, and what the rules judge against."""

    def __init__(self, store: AlarmStore, changed: Changed) -> None:
        self.store = store
        self.changed = changed
        self.rules: dict[str, RuleBase] = {}
        self.alarms: dict[str, Alarm] = {}
        self.conditions: dict[str, Condition] = {}
        self.by_tag: dict[str, list[str]] = {}
        self.watched: set[str] = set()
        """:meth:`tag_paths` as of the last :meth:`select`: a device cycle holds others too."""
        self.by_scope: dict[str, list[str]] = {}
        """Machine (or line) -> the ids of its rules' alarms."""
        self.judging: dict[str, list[str]] = {j: [] for j in _JUDGEMENTS}
        """judge_oee, judge_maintenance, judge_tick -> the ids of the rules whose kind makes it."""
        self.order: dict[str, int] = {}
        """Alarm id -> its place among the conditions (ticks judge in this order)."""
        self.pending: set[str] = set()
        """Conditions whose delay may run (a superset: checked on the next tick)."""
        self.areas: set[str] | None = None
        self.last_good: dict[str, float] = {}
        self.machine_states = MachineStates()
        self.flood = FloodDetector()
        self.management = AlarmManagement()
        self.positions = Positions()
        self.design = DesignSuppression()
        self.maintenance_section = MaintenanceConfig()

    def configure(self, config: PlantConfig) -> None:
        """Alarm management, operator positions and machine-state mappings of ``config``."""
        self.management = config.alarm_management
        self.positions = Positions(config.operator_positions())
        self.flood.window_s = self.management.period_s
        self.flood.start, self.flood.end = self.management.flood_start, self.management.flood_end
        self.machine_states.configure(config.oee)
        self.maintenance_section = config.maintenance

    def select(self, rules: Iterable[RuleBase], areas: set[str] | None) -> None:
        """Run ``rules`` of ``areas`` (None: every area), with their alarms and conditions;
        alarms of rules that went away disappear."""
        wanted = {
            f"{r.name}@{r.scope}": r for r in rules if areas is None or area_of(r.scope) in areas
        }
        self.rules, self.areas = wanted, areas
        for alarm_id in list(self.alarms):
            flood = alarm_id.startswith(FLOOD_RULE)
            if (alarm_id not in wanted and not flood) or (
                flood and areas is not None and alarm_id.split("@")[-1] not in areas
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
        self._index(wanted)
        self.design.configure(self.management.suppressions, wanted)
        self.watched = self.tag_paths()

    def _index(self, wanted: dict[str, RuleBase]) -> None:
        self.by_scope = {}
        for alarm_id, rule in wanted.items():
            self.by_scope.setdefault(rule.scope, []).append(alarm_id)
        self.judging = {
            judgement: [i for i, rule in wanted.items() if _judges(rule, judgement)]
            for judgement in _JUDGEMENTS
        }
        self.order = {alarm_id: n for n, alarm_id in enumerate(self.conditions)}

    def tag_paths(self) -> set[str]:
        """The tags whose samples matter here: those of the rules run, the state tags of
        their areas' machines and the tags of configured suppressions."""
        states = {
            path
            for path in self.machine_states.codes
            if self.areas is None or area_of(path.rsplit("/", 1)[0]) in self.areas
        }
        return self.by_tag.keys() | states | self.design.tags

    def _new_alarm(self, alarm_id: str, rule: RuleBase) -> Alarm:
        alarm = Alarm(alarm_id, rule.name, rule.scope, rule.priority, changed_at=time.time())
        alarm = self.store.restore(alarm)
        alarm.priority, alarm.latching = rule.priority, rule.latching
        alarm.realarm_s = rule.realarm_s
        return alarm

    def drop(self, areas: set[str]) -> list[str]:
        """Forget the alarms of ``areas``; their ids."""
        gone = [i for i, alarm in self.alarms.items() if area_of(alarm.scope) in areas]
        for alarm_id in gone:
            del self.alarms[alarm_id]
            self.conditions.pop(alarm_id, None)
        return gone

    def alarm(self, alarm_id: str) -> Alarm:
        """An alarm by id; NotFound lists how ids look."""
        alarm = self.alarms.get(alarm_id)
        if alarm is None:
            raise NotFound(f"no alarm {alarm_id!r} (ids look like rule@site/area/line/machine)")
        return alarm

    async def telemetry(self, msg: telemetry_pb2.TagSampleBatch) -> None:
        """Samples: machine states, configured suppressions and the rules of their tags."""
        now = time.monotonic()
        watched = self.watched
        for sample in msg.samples:
            if sample.path not in watched:
                continue
            good = sample.quality == telemetry_pb2.QUALITY_GOOD
            value = codec.scalar(sample.value)
            machine_state = self.machine_states.from_tag(sample.path, value) if good else None
            if machine_state is not None:
                await self._machine_state(*machine_state, now)
            if good and sample.path in self.design.tags and self.design.tag(sample.path, value):
                await self.resuppress()
            ids = self.by_tag.get(sample.path)
            if not ids:
                continue
            if good:
                self.last_good[sample.path] = now
            for alarm_id in ids:
                cond = self.conditions[alarm_id]
                flipped = cond.sample(value, now, good)
                self._delays(alarm_id, cond)
                if flipped:
                    await self._condition(alarm_id, cond.active, value, now)

    def _delays(self, alarm_id: str, cond: Condition) -> None:
        if cond.pending:
            self.pending.add(alarm_id)

    async def oee(self, msg: oee_pb2.OeeSnapshot) -> None:
        """An OEE snapshot: the machine's state and the rules on OEE."""
        now = time.monotonic()
        if msg.state:
            await self._machine_state(msg.scope, msg.state, now)
        oee = msg.oee if msg.HasField("oee") else None
        for alarm_id in self.judging["judge_oee"]:
            cond = self.conditions[alarm_id]
            flipped = cond.oee(msg.scope, oee, now)
            self._delays(alarm_id, cond)
            if flipped:
                await self._condition(alarm_id, cond.active, round(msg.oee, 4), now)

    async def maintenance(self, msg: maintenance_pb2.MaintenanceEvent) -> None:
        """An event of the maintenance service: the rules on plans, forecasts and scores."""
        view = view_of(msg, self.maintenance_section)
        if view is None:
            return
        now = time.monotonic()
        for alarm_id in self.judging["judge_maintenance"]:
            cond = self.conditions[alarm_id]
            flipped = cond.maintenance(view, now)
            self._delays(alarm_id, cond)
            if flipped:
                value = self.alarms[alarm_id].value if view.value is None else view.value
                await self._condition(alarm_id, cond.active, value, now)

    async def _machine_state(self, machine: str, state: str, now: float) -> None:
        """A machine's state as reported: a planned stop suppresses its alarms (checked on
        every report, so alarms of a rule added during the stop are suppressed too)."""
        self.machine_states.observe(machine, state, now)
        flipped = self.design.machine_state(machine, state)
        await self.resuppress(None if flipped else machine)

    async def resuppress(self, machine: str | None = None) -> None:
        """Suppression by design of every alarm (of ``machine`` only): in a planned stop
        for rules with ``suppress_in_planned_stop``, or while a configured suppression
        holds."""
        wall = time.time()
        ids = list(self.alarms) if machine is None else self.by_scope.get(machine, [])
        for alarm_id in ids:
            alarm, rule = self.alarms.get(alarm_id), self.rules.get(alarm_id)
            if alarm is None or rule is None:
                continue
            planned = rule.suppress_in_planned_stop and (
                self.machine_states.state_of(alarm.scope) == "planned_stop"
            )
            why = "planned stop" if planned else self.design.by(alarm.id)
            if alarm.suppress(why is not None, wall, why or ""):
                await self.changed(alarm)

    async def _condition(self, alarm_id: str, active: bool, value: Any, now: float) -> None:
        alarm = self.alarms[alarm_id]
        alarm.value = value
        rule = self.rules.get(alarm_id)
        if rule:
            alarm.message = render(rule.message, rule.name, alarm.scope, value, rule.shown_limit)
        if alarm.condition(active, time.time()):
            if alarm.state == AlarmState.UNACK:
                self.flood.annunciated(self.positions.of(alarm.scope), now)
            await self.changed(alarm)
            if self.design.alarm(alarm_id, active):
                await self.resuppress()

    async def tick(self, now: float) -> None:
        """Time-driven checks at ``now`` (monotonic): pending delays, stale data, states held
        too long, shelving expiry and floods."""
        wall = time.time()
        judged = {*self.judging["judge_tick"], *self.pending}
        self.pending = set()
        for alarm_id in self._ticking(judged):
            cond, alarm = self.conditions[alarm_id], self.alarms[alarm_id]
            if alarm_id in judged:
                flipped = cond.tick(self, now)
                self._delays(alarm_id, cond)
                if flipped:
                    value = alarm.value if cond.last_value is None else cond.last_value
                    await self._condition(alarm_id, cond.active, value, now)
            if alarm.expire(wall, now) or alarm.realarm(wall, now):
                await self.changed(alarm)
        for area, flooding in self.flood.update(now).items():
            alarm_id = f"{FLOOD_RULE}@{area}"
            if alarm_id not in self.alarms:
                self.store.restore_count(alarm_id)
            alarm = self.alarms.setdefault(alarm_id, Alarm(alarm_id, FLOOD_RULE, area, "high"))
            alarm.message = f"alarm flood in {area}: more than {self.flood.start} alarms in 10 min"
            if alarm.condition(flooding, wall):
                await self.changed(alarm)

    def _ticking(self, judged: set[str]) -> list[str]:
        """The alarms a tick looks at, in the conditions' order: ``judged`` and those
        waiting for a time to run out (shelved, out of service, acknowledged to re-alarm)."""
        waiting = {
            alarm_id
            for alarm_id, alarm in self.alarms.items()
            if alarm.state in _TIMED or (alarm.realarm_s > 0 and alarm.state == AlarmState.ACKED)
        }
        ids = [i for i in judged | waiting if i in self.conditions]
        return sorted(ids, key=lambda alarm_id: self.order.get(alarm_id, -1))

    def seconds_since_good(self, tag_path: str, now: float) -> float:
        """How long ``tag_path`` has had no good sample (counted from the first look)."""
        return now - self.last_good.setdefault(tag_path, now)

    def seconds_in_state(self, machine: str, state: str, now: float) -> float:
        """How long ``machine`` has been in ``state``."""
        return self.machine_states.held(machine, state, now)
