"""Which machine stopped the line, worked: the first to stop in a cascade of overlapping
stops that is not blocked or starved; the others named blocked, starved or stopped; the
line's stop published with its machines' downtime events, and again when a
classification changes its reason."""

from __future__ import annotations

from plantbus.oee.events import StateChange
from plantbus.oee.line_stops import LineStops, line_stops
from plantbus.oee.live import LiveOee
from plantbus.v1 import oee_pb2

LINE = "s/a/l"
STARTED, ENDED = oee_pb2.DOWNTIME_KIND_STARTED, oee_pb2.DOWNTIME_KIND_ENDED


def stop(
    machine: str, start: float, end: float | None, reason: str, planned: bool = False
) -> list[oee_pb2.DowntimeEvent]:
    """A machine's episode as the engine publishes it: started, then ended (newest first)."""
    began = oee_pb2.DowntimeEvent(
        id=f"{machine}@{start}", machine=f"{LINE}/{machine}", kind=STARTED, reason=reason
    )
    began.planned = planned
    began.start.FromSeconds(int(start))
    if end is None:
        return [began]
    done = oee_pb2.DowntimeEvent()
    done.CopyFrom(began)
    done.kind = ENDED
    done.end.FromSeconds(int(end))
    return [done, began]


def test_the_first_to_stop_stopped_the_line_and_the_others_were_knocked_on() -> None:
    events = (
        stop("m1", 0, 60, "jam") + stop("m2", 10, 70, "starved") + stop("m3", 20, 65, "blocked")
    )
    (line,) = line_stops(events, LINE)
    assert (line.machine, line.root_cause_machine, line.reason) == (LINE, f"{LINE}/m1", "jam")
    assert dict(line.line_states) == {"m1": "root_cause", "m2": "starved", "m3": "blocked"}
    assert (line.kind, line.start.seconds, line.end.seconds) == (ENDED, 0, 70)


def test_a_starved_machine_that_stops_first_is_not_the_cause() -> None:
    events = stop("m3", 0, 50, "material/starved") + stop("m1", 5, 40, "tool_breakage")
    (line,) = line_stops(events, LINE)
    assert line.root_cause_machine == f"{LINE}/m1" and line.reason == "tool_breakage"
    assert dict(line.line_states) == {"m3": "starved", "m1": "root_cause"}


def test_stops_that_do_not_overlap_are_two_line_stops_and_planned_ones_none() -> None:
    events = (
        stop("m1", 100, 110, "jam")
        + stop("m2", 120, None, "fault")
        + stop("m3", 105, 200, "break", planned=True)
    )
    first, second = line_stops(events, LINE)
    assert (first.root_cause_machine, first.kind) == (f"{LINE}/m1", ENDED)
    assert (second.root_cause_machine, second.kind) == (f"{LINE}/m2", STARTED)
    assert not second.HasField("end") and dict(second.line_states) == {"m2": "root_cause"}
    assert line_stops(events, "s/a/other") == []


def test_only_new_or_changed_line_stops_are_published_again() -> None:
    published = LineStops()
    events = stop("m1", 0, None, "unspecified")
    (first,) = published.changed(events, LINE)
    assert published.changed(events, LINE) == []
    for e in events:
        e.reason = "jam"  # classified by someone
    (again,) = published.changed(events, LINE)
    assert (again.id, again.reason) == (first.id, "jam")


def test_the_live_service_publishes_the_line_stop_with_its_machines_events() -> None:
    live = LiveOee()
    for machine in ("m1", "m2"):
        live.event(StateChange(0.0, f"{LINE}/{machine}", LINE, "running"), 0.0)
    live.event(StateChange(100.0, f"{LINE}/m2", LINE, "stopped", "jam"), 100.0)
    live.event(StateChange(103.0, f"{LINE}/m1", LINE, "stopped", "blocked"), 103.0)
    live.flush()
    out = live.drain()
    lines = [e for e in out.downtimes if e.machine == LINE]
    (line,) = lines
    assert line.root_cause_machine == f"{LINE}/m2" and line.kind == STARTED
    assert dict(line.line_states) == {"m2": "root_cause", "m1": "blocked"}
    live.event(StateChange(130.0, f"{LINE}/m2", LINE, "running"), 130.0)
    live.event(StateChange(131.0, f"{LINE}/m1", LINE, "running"), 131.0)
    live.flush()
    (ended,) = [e for e in live.drain().downtimes if e.machine == LINE]
    assert (ended.id, ended.kind, ended.end.seconds) == (line.id, ENDED, 131)
