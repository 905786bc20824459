"""The live OEE of a plant: telemetry samples, work orders and shift calendars in,
snapshots, downtime events and final figures out. Pure: the caller passes the wall clock
(``now``), publishes what :meth:`LiveOee.drain` returns and saves :meth:`LiveOee.dump`.

Each machine's inputs go through its :class:`~plantbus.oee.timeline.Timeline`, so the
engine sees them in source-time order whatever order they arrive in: a sample replayed
from a device's spool after an outage lands in its place, the figures from there on are
recomputed, and the machine's revision goes up. Snapshots show the committed figures plus
what the reorder window still holds, up to the machine's source clock.

At plant scale a tick touches only the machines whose window holds something (``busy``),
and each line's calendar changes are worked out an hour ahead rather than on every tick.
"""

from __future__ import annotations

from collections import OrderedDict

from plantbus.config import PlantConfig
from plantbus.config.oee import OeeSettings, ShiftCalendar
from plantbus.oee.calendar import OFF, CalendarPlans, CalendarStatus, status_at, status_events
from plantbus.oee.engine import Closed, EngineSettings, OeeEngine
from plantbus.oee.events import Event, WorkOrderEnd, WorkOrderStart
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.line_stops import LineStops
from plantbus.oee.machine import Checkpoint, MachineModel, Outbox
from plantbus.oee.mapping import MachineMapper
from plantbus.oee.snapshot import final_snapshot, past_shift, snapshot
from plantbus.oee.timeline import Input, Sample, Timeline
from plantbus.oee.views import Views, seen
from plantbus.sdk.errors import NotFound
from plantbus.v1 import oee_pb2

__all__ = ["ALWAYS", "FINALS_KEPT", "LiveOee", "mapped_paths"]

ALWAYS = CalendarStatus("always", "")
"""The status of a line without a calendar: one endless shift."""
FINALS_KEPT = 16
"""Final figures kept per machine (for GetOee of a past shift); the historian keeps all."""


def mapped_paths(config: PlantConfig) -> set[str]:
    """The tag paths the OEE mappings of ``config`` read (the ones :meth:`LiveOee.sample`
    takes)."""
    return {
        f"{m.machine}/{tag}"
        for m in config.oee
        for tag in (m.state_tag, m.reason_tag, m.total_tag, m.reject_tag, m.rework_tag)
        if tag
    }


class LiveOee:
    """Engine, mappers, calendars and one timeline per machine."""

    def __init__(self, settings: OeeSettings | None = None) -> None:
        self.settings = settings or OeeSettings()
        self.engine = OeeEngine(EngineSettings.of(self.settings))
        self.machines: dict[str, MachineModel] = {}
        self.timelines: dict[str, Timeline[Checkpoint]] = {}
        self.calendars: dict[str, ShiftCalendar] = {}
        self.paths: set[str] = set()
        """:func:`mapped_paths` of the config: a device cycle holds other tags too."""
        self.status: dict[str, CalendarStatus] = {}
        """The calendar status each machine was given."""
        self.calendar_ts: dict[str, float] = {}
        """Per line, the wall time up to which calendar changes were given."""
        self.finals: dict[str, OrderedDict[tuple[str, str], Closed]] = {}
        self.dropped = 0
        """Inputs older than the correction horizon, not applied."""
        self.ahead = 0
        """Samples further ahead of the hub's clock than ``max_clock_ahead_s``, skipped."""
        self.out = Outbox()
        self.line_stops = LineStops()
        self.restored_mappers: dict[str, dict[str, object]] = {}
        """Mapper baselines from a restart, taken when the config maps the machine."""
        self.by_line: dict[str, dict[str, None]] = {}
        """Line -> its machines (of ``machines``, in the order they came)."""
        self.busy: set[str] = set()
        """Machines whose timeline may hold inputs (a superset): the ones a tick releases."""
        self.touched: set[str] = set()
        """Machines given an input, a status, a mapping or a reason since the caller last
        took this (a superset): the saved values that may be out of date."""
        self.replayable: set[str] = set()
        """Machines changed only by telemetry since the caller last took this (samples held
        or committed, no downtime event, final or correction): reading the stream again
        from a machine's saved sequence gives the same state, so its value may wait."""
        self._plans = CalendarPlans()
        self._last_state: dict[tuple[str, str], object] = {}
        """(machine, state or reason tag) -> the value last pushed."""
        self.muted = 0
        """Above 0 while a provisional view is computed: no downtime or final goes out."""

    def configure(self, config: PlantConfig, now: float) -> None:
        """Take the mappings, calendars and loss settings of a config version; a calendar
        change applies from ``now``, the rest from the next input."""
        if config.oee_settings != self.settings:
            self.settings = config.oee_settings
            self.engine.settings = EngineSettings.of(self.settings)
            for timeline in self.timelines.values():
                timeline.window_s = self.settings.reorder_window_s
                timeline.horizon_s = self.settings.correction_horizon_s
        self.calendars = {line: cal for cal in config.shift_calendars for line in cal.lines}
        self.paths = mapped_paths(config)
        mapped = {m.machine for m in config.oee}
        for gone in set(self.machines) - mapped:
            self.by_line[self.machines[gone].line].pop(gone, None)
            del self.machines[gone], self.timelines[gone]
            self.busy.discard(gone)
        for mapping in config.oee:
            line = mapping.machine.rsplit("/", 1)[0]
            machine = self.machine(mapping.machine, line)
            if machine.mapper is None or machine.mapper.mapping != mapping:
                mapper = MachineMapper(mapping, line)
                self.touched.add(mapping.machine)
                before = machine.mapper.dump() if machine.mapper else None
                before = before or self.restored_mappers.pop(mapping.machine, None)
                if before:
                    mapper.load(before)
                machine.mapper = mapper
            self.engine.track(mapping.machine, line).ideal_cycle_s = mapping.ideal_cycle_time_s
        for line in {m.line for m in self.machines.values()}:
            self.calendar_ts[line] = now
            self._give_status(line, now, self._status_at(line, now), now)

    def machine(self, name: str, line: str) -> MachineModel:
        """The machine and its timeline, created on first sight."""
        if name not in self.machines:
            self.by_line.setdefault(line, {})[name] = None
            self.busy.add(name)
            self.touched.add(name)
            self.machines[name] = MachineModel(self, name, line)
            self.timelines[name] = Timeline(
                self.machines[name],
                self.settings.reorder_window_s,
                self.settings.correction_horizon_s,
            )
        return self.machines[name]

    def sample(self, path: str, value: object, ts: float, now: float) -> None:
        """One good telemetry sample (``site/area/line/machine/tag``) at source time ``ts``."""
        name, _, tag = path.rpartition("/")
        machine = self.machines.get(name)
        if machine is None or machine.mapper is None:
            return
        m = machine.mapper.mapping
        if tag in (m.state_tag, m.reason_tag, m.total_tag, m.reject_tag, m.rework_tag):
            if ts - now > self.settings.max_clock_ahead_s:
                self.ahead += 1
                return
            self._push(Sample(ts, name, tag, value), now)

    def work_order(
        self, machine: str, status: str, order: str, ideal_s: float | None, now: float
    ) -> None:
        """A work order started (``running``) or ended on a machine, as the ERP says now."""
        known = self.machines.get(machine)
        if known is None:
            return
        ts = self.timelines[machine].clock(now)
        event: Event
        if status == "running":
            event = WorkOrderStart(ts, machine, known.line, order=order, ideal_cycle_time_s=ideal_s)
        elif status in ("completed", "cancelled"):
            event = WorkOrderEnd(ts, machine, known.line, order=order)
        else:
            return
        self._push(event, now)
        self.out.urgent.add(machine)

    def event(self, event: Event, now: float) -> None:
        """Any engine event of a machine (a test feeds an event log this way)."""
        self.machine(event.machine, event.line)
        self._push(event, now)

    def _push(self, item: Input, now: float) -> None:
        self.timelines[item.machine].push(item, now)
        self.busy.add(item.machine)
        (self.replayable if isinstance(item, Sample) else self.touched).add(item.machine)
        self.out.dirty.add(item.machine)
        if isinstance(item, Sample) and item.tag in self._state_tags(item.machine):
            if self._last_state.get((item.machine, item.tag), self) != item.value:
                self.out.urgent.add(item.machine)  # the state shown changes: at once
            self._last_state[(item.machine, item.tag)] = item.value

    def _state_tags(self, name: str) -> tuple[str | None, ...]:
        mapper = self.machines[name].mapper
        return (mapper.mapping.state_tag, mapper.mapping.reason_tag) if mapper else ()

    def tick(self, now: float) -> None:
        """Calendar changes up to ``now``, then the corrections and commits of every
        timeline that holds inputs."""
        for line, since in list(self.calendar_ts.items()):
            calendar = self.calendars.get(line)
            if calendar is not None:
                for ts, status in self._plans.transitions(line, calendar, since, now):
                    self._give_status(line, ts, status, now)
            self.calendar_ts[line] = now
        for name in list(self.busy):
            timeline = self.timelines[name]
            if not timeline.due(now):  # most ticks of a machine: its inputs wait
                if timeline.idle():
                    self.busy.discard(name)
                continue
            released = timeline.release(now)
            if timeline.idle():
                self.busy.discard(name)
            if released.corrected:
                self.touched.add(name)
            elif released.committed or released.dropped:
                self.replayable.add(name)
            machine = self.machines[name]
            if released.corrected and released.replayed_from is None:
                machine.revision += 1
            if released.corrected:
                self.out.urgent.add(name)
            self.dropped += released.dropped
            oldest = timeline.oldest()
            machine.emitted = [(ts, e) for ts, e in machine.emitted if ts >= oldest]
            machine.replaced.clear()

    def flush(self) -> None:
        """Commit everything held (tests, and the last save before a stop)."""
        for name, timeline in self.timelines.items():
            released = timeline.flush()
            self.dropped += released.dropped
            self.machines[name].replaced.clear()

    def _status_at(self, line: str, ts: float) -> CalendarStatus:
        calendar = self.calendars.get(line)
        return status_at(calendar, ts) if calendar else ALWAYS

    def _give_status(self, line: str, ts: float, status: CalendarStatus, now: float) -> None:
        """Shift and break ends and starts, at ``ts``, for every machine of ``line``."""
        for name in list(self.by_line.get(line, ())):
            old = self.status.get(name, OFF)
            if old == status:
                continue
            events = status_events(old, status, ts, name, line)
            self.status[name] = status
            for event in events:
                self.timelines[name].push(event, now)
            self.busy.add(name)
            self.touched.add(name)
            self.out.urgent.add(name)

    def on_downtime(self, machine: MachineModel, ts: float, event: oee_pb2.DowntimeEvent) -> None:
        """A downtime event from the engine: published unless muted or already published
        the same before a replay."""
        if self.muted:
            return
        self.touched.add(machine.name)
        machine.emitted.append((ts, event))
        if machine.replaced.get((event.id, event.kind)) != event.SerializeToString():
            self.out.downtimes.append(event)

    def on_closed(self) -> None:
        """Take the shifts and work orders the engine closed: new or changed figures are
        published as final snapshots."""
        closed, self.engine.closed = self.engine.closed, []
        if self.muted:
            return
        for c in closed:
            self.touched.add(c.machine)
            kept = self.finals.setdefault(c.machine, OrderedDict())
            before = kept.get((c.kind, c.key))
            kept[(c.kind, c.key)] = c
            kept.move_to_end((c.kind, c.key))
            while len(kept) > FINALS_KEPT:
                kept.popitem(last=False)
            if before is None or before.totals != c.totals:
                self.out.finals.append(final_snapshot(c, self.machines[c.machine].revision))

    def machine_snapshot(
        self, name: str, now: float, views: Views | None = None
    ) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a machine's current shift."""
        if name not in self.machines:
            raise NotFound(f"no OEE for machine {name!r}: is it mapped in the oee section?")
        track, totals = seen(self, name, now, views)
        revision = self.machines[name].revision
        return snapshot(name, Kpis(totals), track, track.shift, revision)

    def line_snapshot(
        self, line: str, now: float, views: Views | None = None
    ) -> oee_pb2.OeeSnapshot:
        """The live snapshot of a line: summed times and counts of its machines' shifts."""
        names = [n for n in self.by_line.get(line, ()) if n in self.engine.machines]
        if not names:  # none mapped now: the tracks of machines that were, if any
            names = [n for n, t in self.engine.machines.items() if t.line == line]
        if not names:
            raise NotFound(f"no OEE for line {line!r}")
        parts = [seen(self, n, now, views) for n in names if n in self.machines]
        revision = sum(self.machines[n].revision for n in names if n in self.machines)
        kpis = Kpis(Totals.sum(totals for _, totals in parts))
        shift = parts[0][0].shift if parts else ""
        return snapshot(line, kpis, None, shift, revision)

    def past_shift(self, scope: str, shift: str) -> oee_pb2.OeeSnapshot:
        """The figures of a named shift of a machine or line: open or among the finals kept."""
        return past_shift(self.engine.machines, self.finals, scope, shift)

    def classify(
        self, downtime_id: str, reason: str, actor: str, now: float
    ) -> tuple[oee_pb2.DowntimeEvent, str]:
        """Give a downtime episode its reason; the figures from the stop's start on are
        recomputed (every shift and order it touched), or, past the horizon, its time is
        moved in the current ones."""
        classified, old = self.engine.classify(downtime_id, reason, actor, now)
        timeline = self.timelines.get(classified.machine)
        if timeline is not None and timeline.replay_from(classified.start.ToNanoseconds() / 1e9):
            self.machines[classified.machine].replaced.clear()
        self.out.downtimes.append(classified)
        self.out.urgent.add(classified.machine)
        self.out.dirty.add(classified.machine)
        self.touched.add(classified.machine)
        return classified, old

    def drain(self) -> Outbox:
        """What to publish since the last drain; a machine's downtime event brings its
        line's stops that it changed (which machine stopped the line)."""
        out, self.out = self.out, Outbox()
        lines = {e.machine.rsplit("/", 1)[0] for e in out.downtimes if e.machine.count("/") == 3}
        for line in sorted(lines):
            out.downtimes += self.line_stops.changed(self.engine.downtime.recent, line)
        return out
