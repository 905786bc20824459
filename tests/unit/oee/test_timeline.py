"""The live path in source-time order: the reorder window, late data corrected by replay
from a checkpoint, inputs past the horizon dropped; and the property that for any
interleaving and delay of one event log the live figures equal `plantbus oee compute`."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.config import PlantConfig
from plantbus.config.oee import OeeSettings
from plantbus.oee.events import (
    BreakEnd,
    BreakStart,
    Count,
    Event,
    IdealCycleTime,
    MachineStateName,
    ShiftEnd,
    ShiftStart,
    StateChange,
    WorkOrderEnd,
    WorkOrderStart,
)
from plantbus.oee.jsonl import LineError
from plantbus.oee.kpi import Kpis
from plantbus.oee.live import LiveOee
from plantbus.oee.report import compute
from plantbus.oee.timeline import Sample, Timeline


@dataclass
class Recorder:
    """A model that remembers what it was given, in order."""

    applied: list[float] = field(default_factory=list)
    restores: int = 0

    def apply(self, item: Any) -> None:
        self.applied.append(item.ts)

    def save(self) -> list[float]:
        return list(self.applied)

    def restore(self, state: list[float], since: float) -> None:
        self.applied = list(state)
        self.restores += 1


def count(ts: float) -> Sample:
    return Sample(ts, "m1", "parts", 1)


def test_the_window_reorders_without_correcting() -> None:
    model = Recorder()
    line = Timeline(model, window_s=2.0)
    for ts, now in ((10.0, 10.0), (9.0, 10.1), (11.0, 11.0), (10.5, 11.1)):
        assert not line.push(count(ts), now)
    assert list(i.ts for i in line.pending()) == [9.0, 10.0, 10.5, 11.0]
    released = line.release(12.5)  # watermark: 11.0 + 1.5 - 2 = 10.5
    assert model.applied == [9.0, 10.0, 10.5] and released.committed == 3
    assert not released.corrected and released.replayed_from is None
    line.flush()
    assert model.applied == [9.0, 10.0, 10.5, 11.0] and model.restores == 0


def test_due_says_whether_a_release_would_do_anything() -> None:
    """What lets a tick pass over a machine whose inputs all wait in the window."""
    rng = random.Random(7)
    line = Timeline(Recorder(), window_s=2.0, horizon_s=30.0, checkpoint_s=5.0)
    now, seen = 0.0, set()
    for _ in range(2000):
        now += rng.uniform(0.0, 0.5)
        if rng.random() < 0.5:
            line.push(count(now - rng.choice([0.0, 0.5, 3.0, 20.0, 60.0])), now)
        due = line.due(now)
        released = line.release(now)
        worked = released.committed or released.corrected or released.dropped
        assert due == bool(worked or released.replayed_from is not None)
        seen.add(due)
    assert seen == {True, False}


def test_the_machine_clock_runs_on_the_wall_clock_between_samples() -> None:
    line = Timeline(Recorder(), window_s=2.0)
    assert line.clock(100.0) == 100.0  # nothing from the machine yet
    # its clock is 50 s behind the hub's: not late data
    assert not line.push(Sample(50.0, "m1", "state", 1), 100.0)
    assert line.clock(130.0) == 80.0 and line.watermark(130.0) == 78.0
    assert not line.push(count(79.0), 130.0)  # the clock is now 79 at 130
    assert line.push(count(76.0), 130.0)  # older than the window
    line.push(Count(200.0, "m1"), 130.0)  # a hub event ahead of the machine does not move it
    assert line.clock(131.0) == 80.0


def test_late_input_replays_from_the_checkpoint_before_it() -> None:
    model = Recorder()
    line = Timeline(model, window_s=1.0, horizon_s=600.0, checkpoint_s=60.0)
    for ts in range(0, 300, 10):
        line.push(count(float(ts)), float(ts))
        line.release(float(ts) + 5)
    assert model.applied[-1] == 290.0
    assert line.push(count(125.0), 300.0)  # late: before what is committed
    released = line.release(300.0)
    assert released.corrected and released.replayed_from == 120.0  # the checkpoint at 120
    assert model.applied == sorted(model.applied) and 125.0 in model.applied
    assert model.restores == 1 and len(model.applied) == 31


def test_late_input_older_than_the_horizon_is_dropped_and_counted() -> None:
    model = Recorder()
    line = Timeline(model, window_s=1.0, horizon_s=100.0, checkpoint_s=10.0)
    for ts in range(0, 1000, 5):
        line.push(count(float(ts)), float(ts))
        line.release(float(ts) + 2)
    assert 880 <= line.oldest() <= 895
    line.push(count(500.0), 1000.0)
    line.push(count(900.0), 1000.0)
    released = line.release(1000.0)
    assert released.dropped == 1 and released.replayed_from is not None
    assert model.applied.count(500.0) == 1 and model.applied.count(900.0) == 2


def test_a_horizon_of_zero_keeps_no_log() -> None:
    model = Recorder()
    line = Timeline(model, window_s=1.0, horizon_s=0.0)
    for ts in (1.0, 2.0, 3.0):
        line.push(count(ts), ts)
    line.release(10.0)
    line.push(count(2.5), 10.0)
    assert line.release(10.0).dropped == 1 and model.applied == [1.0, 2.0, 3.0]


def test_held_inputs_survive_a_restart() -> None:
    line = Timeline(Recorder(), window_s=5.0)
    line.push(count(10.0), 10.0)
    line.push(count(9.0), 10.0)
    again = Timeline(Recorder(), window_s=5.0)
    again.hold(line.held())
    again.flush()
    assert again.model.applied == [9.0, 10.0]  # type: ignore[attr-defined]


# --- the property: the live path equals `plantbus oee compute` -------------------------

MACHINES = ("s/a/l/m1", "s/a/l/m2")


@st.composite
def event_logs(draw: st.DrawFn) -> list[Event]:
    """One event log: per machine, events at strictly increasing seconds."""
    log: list[Event] = []
    for machine in MACHINES[: draw(st.integers(1, 2))]:
        ts, shift, order, in_shift, in_break = 1_000_000.0, 0, 0, False, False
        for _ in range(draw(st.integers(1, 40))):
            ts += draw(st.integers(1, 900))
            kind = draw(st.sampled_from(["state", "state", "count", "count", "cal", "order"]))
            event: Event
            if kind == "state":
                state: MachineStateName = draw(
                    st.sampled_from(["running", "stopped", "planned_stop"])
                )
                reason = draw(st.sampled_from(["", "jam", "setup", "fault"]))
                event = StateChange(ts, machine, "s/a/l", state=state, reason=reason)
            elif kind == "count":
                total = draw(st.integers(0, 50))
                reject = draw(st.integers(0, total))
                rework = draw(st.integers(0, total - reject))
                event = Count(ts, machine, "s/a/l", total=total, reject=reject, rework=rework)
            elif kind == "cal" and in_break:
                event, in_break = BreakEnd(ts, machine, "s/a/l"), False
            elif kind == "cal" and in_shift and draw(st.booleans()):
                event, in_break = BreakStart(ts, machine, "s/a/l", reason="lunch"), True
            elif kind == "cal" and in_shift:
                event, in_shift = ShiftEnd(ts, machine, "s/a/l"), False
            elif kind == "cal":
                shift += 1
                event, in_shift = ShiftStart(ts, machine, "s/a/l", shift=f"S{shift}"), True
            elif draw(st.booleans()):
                order += 1
                ict = draw(st.sampled_from([None, 0.5, 2.0]))
                event = WorkOrderStart(
                    ts, machine, "s/a/l", order=f"W{order}", ideal_cycle_time_s=ict
                )
            elif draw(st.booleans()):
                event = WorkOrderEnd(ts, machine, "s/a/l")
            else:
                event = IdealCycleTime(
                    ts, machine, "s/a/l", seconds=draw(st.sampled_from([1.0, 3.0]))
                )
            log.append(event)
    return log


def offline(log: Sequence[Event]) -> dict[str, Any]:
    ordered = sorted(log, key=lambda e: e.ts)
    items: list[tuple[int, Event | LineError]] = list(enumerate(ordered))
    report = compute(items)
    out = report.as_dict()["machines"]
    return {
        m: {k: out[m][k] for k in ("shifts", "work_orders")} | {"all": _whole(out[m])} for m in out
    }


def _whole(kpis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kpis.items() if k not in ("shifts", "work_orders", "line")}


def live_figures(live: LiveOee) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, track in live.engine.machines.items():
        finals = live.finals.get(name, OrderedDict())
        shifts = {k: Kpis(c.totals).as_dict() for (kind, k), c in finals.items() if kind == "shift"}
        orders = {
            k: Kpis(c.totals).as_dict() for (kind, k), c in finals.items() if kind == "work_order"
        }
        shifts |= {k: Kpis(v).as_dict() for k, v in track.shifts.items()}
        orders |= {k: Kpis(v).as_dict() for k, v in track.orders.items()}
        out[name] = {"shifts": shifts, "work_orders": orders, "all": Kpis(track.totals).as_dict()}
    return out


@settings(max_examples=60, deadline=None)
@given(
    log=event_logs(),
    delays=st.lists(st.sampled_from([0.0, 0.5, 1.5, 3.0, 40.0, 700.0, 3000.0]), min_size=1),
    seed=st.integers(0, 2**16),
)
def test_any_interleaving_and_delay_gives_the_offline_figures(
    log: list[Event], delays: list[float], seed: int
) -> None:
    rng = random.Random(seed)
    arrivals = sorted(
        ((e.ts + delays[i % len(delays)], rng.random(), e) for i, e in enumerate(log)),
        key=lambda a: a[:2],
    )
    live = LiveOee(OeeSettings(reorder_window_s=2.0, correction_horizon_s=7200.0))
    published: dict[tuple[str, str, str], Any] = {}
    for now, _, event in arrivals:
        live.event(event, now)
        if rng.random() < 0.3:
            live.tick(now)
        for final in live.drain().finals:
            key = (final.scope, final.shift, final.work_order)
            assert final.revision >= published.get(key, final).revision
            published[key] = final
    live.tick(arrivals[-1][0] + 10_000)
    live.flush()
    for final in live.drain().finals:
        published[(final.scope, final.shift, final.work_order)] = final
    expected = offline(log)
    assert live.dropped == 0
    assert live_figures(live) == expected
    for (machine, shift, order), final in published.items():  # the last published is right
        figures = (
            expected[machine]["shifts"][shift] if shift else expected[machine]["work_orders"][order]
        )
        assert final.kpis.total_count == figures["total_count"]
        assert final.kpis.actual_production_time_s == figures["actual_production_time_s"]
        assert dict(final.downtime_by_reason) == figures["downtime_by_reason"]


def test_a_stop_replayed_after_an_outage_is_credited_to_its_reason() -> None:
    """The live service's bug this fixes: ticks during an outage used to count the
    outage as the last known state, and the replayed samples then got no time."""
    m1 = "s/a/l/m1"
    mapping = {
        "machine": m1,
        "state_tag": "state",
        "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
        "reason_tag": "reason",
        "reason_codes": {102: "jam"},
    }
    live = LiveOee()
    t0 = 1_000_000.0
    live.configure(PlantConfig.model_validate({"oee": [mapping]}), t0)
    live.sample(f"{m1}/state", 1, t0, t0)
    for second in range(1, 31):  # NATS away: nothing arrives, snapshots go on
        live.tick(t0 + second)
        assert live.machine_snapshot(m1, t0 + second).state == "running"
    live.drain()
    for ts, tag, value in ((10, "reason", 102), (10, "state", 3), (20, "state", 1)):
        live.sample(f"{m1}/{tag}", value, t0 + ts, t0 + 31)  # the spool replays
    live.sample(f"{m1}/state", 1, t0 + 40, t0 + 40)
    live.tick(t0 + 45)
    snap = live.machine_snapshot(m1, t0 + 45)
    assert dict(snap.downtime_by_reason) == {"jam": 10.0}
    assert snap.actual_production_time_s == 35.0 and snap.revision == 1
    published = live.drain().downtimes
    [started, ended] = sorted((d for d in published if d.machine == m1), key=lambda d: d.kind)
    assert (started.start.seconds, ended.end.seconds) == (t0 + 10, t0 + 20)
    [line] = [d for d in published if d.machine == "s/a/l"]  # the line's stop, m1's
    assert (line.root_cause_machine, line.end.seconds) == (m1, t0 + 20)
