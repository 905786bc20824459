"""The KPI engine: a time-ordered stream of machine events in, ISO 22400 KPIs out. No I/O.

Time between two events of a machine is attributed to the state the machine was in:
inside a shift, a calendar planned stop (break) or the ``planned_stop`` state is
planned downtime, ``running`` is actual production time, anything else (``stopped``,
or no state yet) is unplanned downtime by reason. Outside shifts only calendar time
accrues. Each stretch of time is added to the machine's totals, its current shift's and
its current work order's, so every scope is aggregated from the same times and counts.
When a shift or work order ends, its totals leave the track as a :class:`Closed` record
in ``OeeEngine.closed`` (for the caller to publish and keep), so a track holds only what
is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Literal

from plantbus.oee import events as ev
from plantbus.oee.downtime import DowntimeLog, episode_id
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.settings import Closed, EngineSettings
from plantbus.v1 import oee_pb2

__all__ = ["Closed", "EngineSettings", "MachineTrack", "OeeEngine"]


@dataclass(slots=True)
class MachineTrack:
    """Everything the engine remembers about one machine."""

    machine: str
    line: str = ""
    last_ts: float | None = None
    in_shift: bool = False
    shift: str = ""
    breaks: list[str] = field(default_factory=list)
    state: str = ""
    reason: str = ""
    ideal_cycle_s: float = 1.0
    order: str = ""
    order_ideal_s: float | None = None
    stop_s: float = 0.0
    """Unplanned downtime of the stop in progress (in shifts)."""
    run_since: float | None = None
    totals: Totals = field(default_factory=Totals)
    shifts: dict[str, Totals] = field(default_factory=dict)
    orders: dict[str, Totals] = field(default_factory=dict)

    def buckets(self) -> list[Totals]:
        """The scopes the present moment belongs to."""
        out = [self.totals]
        if self.in_shift and self.shift:
            out.append(_scope(self.shifts, self.shift))
        if self.order:
            out.append(_scope(self.orders, self.order))
        return out

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` of this, without its cost (saved for every machine)."""
        out = dict(zip(_SCALARS, _scalars(self), strict=True))
        out["breaks"] = list(self.breaks)
        out["totals"] = self.totals.as_dict()
        out["shifts"] = {k: v.as_dict() for k, v in self.shifts.items()}
        out["orders"] = {k: v.as_dict() for k, v in self.orders.items()}
        return out

    def copy(self) -> MachineTrack:
        """An independent copy (as ``copy.deepcopy``, without its cost)."""
        out = MachineTrack(*_every(self))
        out.breaks = list(self.breaks)
        out.totals = self.totals.copy()
        out.shifts = {k: v.copy() for k, v in self.shifts.items()}
        out.orders = {k: v.copy() for k, v in self.orders.items()}
        return out

    @property
    def pri(self) -> float:
        """The ideal cycle time in force: the work order's, else the machine's."""
        return self.order_ideal_s if self.order_ideal_s is not None else self.ideal_cycle_s


def _scope(scopes: dict[str, Totals], key: str) -> Totals:
    """The totals of ``key``, new ones the first time (``setdefault`` would make a Totals
    on every call: several per input)."""
    totals = scopes.get(key)
    if totals is None:
        totals = scopes[key] = Totals()
    return totals


_SCALARS = tuple(
    f.name for f in fields(MachineTrack) if f.name not in ("breaks", "totals", "shifts", "orders")
)
_scalars = attrgetter(*_SCALARS)
_every = attrgetter(*(f.name for f in fields(MachineTrack)))


class OeeEngine:
    """Feeds events to per-machine tracks and answers KPIs per scope."""

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.machines: dict[str, MachineTrack] = {}
        self.downtime = DowntimeLog()
        self.closed: list[Closed] = []
        """Shifts and work orders that ended, oldest first; the caller takes them."""
        self.reasons: dict[str, str] = {}
        """Reasons people gave downtime episodes (by id): a stop replayed keeps them."""

    def track(self, machine: str, line: str = "") -> MachineTrack:
        """The machine's track, created on first sight."""
        track = self.machines.get(machine)
        if track is None:
            track = MachineTrack(machine, line, ideal_cycle_s=self.settings.default_ideal_cycle_s)
            self.machines[machine] = track
        elif line and not track.line:
            track.line = line
        return track

    def advance(self, track: MachineTrack, ts: float) -> None:
        """Attribute the time up to ``ts`` to the machine's current state."""
        if track.last_ts is None or ts <= track.last_ts:
            track.last_ts = ts if track.last_ts is None else track.last_ts
            return
        dt = ts - track.last_ts
        track.last_ts = ts
        for bucket in track.buckets():
            bucket.calendar_s += dt
            if not track.in_shift:
                continue
            bucket.pot_s += dt
            if track.order and not track.breaks and track.state != "planned_stop":
                bucket.busy_s += dt
            if track.breaks or track.state == "planned_stop":
                reason = track.breaks[-1] if track.breaks else (track.reason or "planned_stop")
                bucket.planned_down_s += dt
                bucket.planned_by_reason[reason] = bucket.planned_by_reason.get(reason, 0.0) + dt
            elif track.state == "running":
                bucket.apt_s += dt
                bucket.busy_apt_s += dt if track.order else 0.0
            else:
                reason = track.reason or ("unknown" if not track.state else "unspecified")
                bucket.down_s += dt
                bucket.down_by_reason[reason] = bucket.down_by_reason.get(reason, 0.0) + dt
        if track.in_shift and not track.breaks and track.state not in ("running", "planned_stop"):
            track.stop_s += dt

    def process(self, event: ev.Event) -> list[oee_pb2.DowntimeEvent]:
        """Apply one event (events of a machine must come in time order); returns the
        downtime events it causes."""
        track = self.track(event.machine, event.line)
        self.advance(track, event.ts)
        match event:
            case ev.StateChange():
                return self._state(track, event)
            case ev.Count():
                self._count(track, event)
            case ev.ShiftStart():
                shift = event.shift or "shift"
                if track.in_shift and track.shift != shift:
                    self._close(track, "shift", track.shift, event.ts)
                track.in_shift, track.shift = True, shift
            case ev.ShiftEnd():
                if track.in_shift:
                    self._close(track, "shift", track.shift, event.ts)
                track.in_shift = False
            case ev.BreakStart():
                track.breaks.append(event.reason or "break")
            case ev.BreakEnd():
                if track.breaks:
                    track.breaks.pop()
            case ev.IdealCycleTime():
                track.ideal_cycle_s = event.seconds
            case ev.WorkOrderStart():
                if track.order and track.order != event.order:
                    self._close(track, "work_order", track.order, event.ts)
                track.order, track.order_ideal_s = event.order, event.ideal_cycle_time_s
            case ev.WorkOrderEnd():
                if track.order and (not event.order or event.order == track.order):
                    self._close(track, "work_order", track.order, event.ts)
                    track.order, track.order_ideal_s = "", None
        return []

    def _close(
        self, track: MachineTrack, kind: Literal["shift", "work_order"], key: str, ts: float
    ) -> None:
        scopes = track.shifts if kind == "shift" else track.orders
        totals = scopes.pop(key, None)
        if totals is not None:
            self.closed.append(Closed(track.machine, track.line, kind, key, totals, ts))

    def _classified(self, track: MachineTrack, event: ev.StateChange) -> ev.StateChange:
        """``event`` with the reason a person gave its stop, if one did."""
        if event.state != "stopped":
            return event
        episode = self.downtime.open.get(track.machine)
        reason = self.reasons.get(episode.id) if episode is not None else None
        if reason is None:
            reason = self.reasons.get(episode_id(event))
        return replace(event, reason=reason) if reason is not None else event

    def _in_tree(self, event: ev.StateChange) -> ev.StateChange:
        """``event`` with its reason's path, and a stop with a planned reason planned."""
        tree = self.settings.reasons
        if not event.reason or not tree.nodes:
            return event
        reason = tree.resolve(event.reason)
        planned = event.state == "stopped" and tree.planned(reason)
        return replace(event, reason=reason, state="planned_stop" if planned else event.state)

    def _state(self, track: MachineTrack, event: ev.StateChange) -> list[oee_pb2.DowntimeEvent]:
        event = self._in_tree(self._classified(track, event))
        was_stopped = track.state not in ("running", "planned_stop", "")
        now_stopped = event.state == "stopped"
        if was_stopped and not now_stopped:
            self._close_stop(track)
        if now_stopped and not was_stopped:
            for bucket in track.buckets():
                bucket.failures += 1
        if event.state == "running" and track.state != "running":
            track.run_since = event.ts
        new_reason = now_stopped and was_stopped and event.reason != track.reason
        refines = new_reason and track.stop_s <= self.settings.reason_refine_s
        if refines:  # the reason arrived just after the stop began: relabel it
            self._move_downtime(track, track.reason or "unspecified", event.reason, track.stop_s)
        elif new_reason:
            self._close_stop(track)
        track.state, track.reason = event.state, event.reason
        return self.downtime.on_state(event, refines)

    def classify(
        self, downtime_id: str, reason: str, actor: str, now: float
    ) -> tuple[oee_pb2.DowntimeEvent, str]:
        """Give a downtime episode its reason and move its time to that reason; returns the
        classified event and the reason it had."""
        reason = self.settings.reasons.resolve(reason)
        classified, old, seconds = self.downtime.classify(downtime_id, reason, actor, now)
        self.reasons[downtime_id] = reason
        kept = {d.id for d in self.downtime.recent}
        self.reasons = {k: v for k, v in self.reasons.items() if k in kept}
        track = self.machines.get(classified.machine)
        if track is not None:
            self.advance(track, now)
            self._move_downtime(track, old, reason, seconds)
            if self.downtime.is_open(classified.machine):
                track.reason = reason
        return classified, old

    @staticmethod
    def _move_downtime(track: MachineTrack, old: str, new: str, seconds: float) -> None:
        """Move up to ``seconds`` of unplanned downtime from reason ``old`` to ``new`` in
        every scope the machine is in now."""
        for bucket in track.buckets():
            moved = min(seconds, bucket.down_by_reason.get(old, 0.0))
            if moved:
                bucket.down_by_reason[old] -= moved
                if bucket.down_by_reason[old] <= 1e-9:
                    del bucket.down_by_reason[old]
                bucket.down_by_reason[new] = bucket.down_by_reason.get(new, 0.0) + moved

    def _close_stop(self, track: MachineTrack) -> None:
        """Classify the stop that just ended: setup, minor stop or (by default) breakdown;
        the reason tree's class for its reason, if any, comes first."""
        duration, track.stop_s = track.stop_s, 0.0
        loss = self.settings.reasons.loss(track.reason)
        names = {track.reason, track.reason.rsplit("/", 1)[-1]}
        if loss == "setup_adjustments" or (loss is None and names & self.settings.setup_reasons):
            for bucket in track.buckets():
                bucket.setup_s += duration
        elif loss == "minor_stops" or (loss is None and 0 < duration < self.settings.minor_stop_s):
            for bucket in track.buckets():
                bucket.minor_stop_s += duration

    def _count(self, track: MachineTrack, event: ev.Count) -> None:
        pri = track.pri
        startup = (
            track.run_since is not None
            and event.ts - track.run_since < self.settings.startup_window_s
        )
        outside = not track.in_shift or bool(track.breaks) or track.state == "planned_stop"
        for bucket in track.buckets():
            bucket.outside_count += max(event.total, 0) if outside else 0
            bucket.total_count += event.total
            bucket.reject_count += event.reject
            bucket.rework_count += event.rework
            bucket.ideal_s += pri * event.total
            bucket.ideal_reject_s += pri * event.reject
            if startup:
                bucket.startup_rejects += event.reject
                bucket.ideal_startup_reject_s += pri * event.reject

    def line_kpis(self, line: str) -> Kpis:
        """KPIs of a line, from the summed times and counts of its machines."""
        return Kpis(Totals.sum(t.totals for t in self.machines.values() if t.line == line))

    def lines(self) -> list[str]:
        """Every line seen."""
        return sorted({t.line for t in self.machines.values() if t.line})
