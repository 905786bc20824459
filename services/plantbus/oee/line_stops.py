"""Which machine stopped the line (pure): a line's stop is a cascade of its machines'
unplanned stops that overlap (one starts before the stops so far have all ended); the
machine that stopped it is the first to stop that is not blocked or starved, as a line's
modes tell in Sepasoft's OEE (the first to stop when all are). Planned stops are no line
stops. Computed again from the recent machine episodes each time one changes, so a
replayed or reclassified stop gives the line's stop its new root cause."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.v1 import oee_pb2

__all__ = ["KNOCK_ON", "LineStops", "line_stops"]

KNOCK_ON: Final = ("blocked", "starved")
"""Reasons (the last segment of a reason path) that say another machine stopped this one."""


@dataclass
class _Episode:
    id: str
    machine: str
    start: float
    end: float | None
    reason: str

    @property
    def knock_on(self) -> str:
        """blocked, starved, or '' for a stop of its own."""
        last = self.reason.rsplit("/", 1)[-1]
        return last if last in KNOCK_ON else ""


def _seconds(ts: Timestamp) -> float:
    return ts.ToNanoseconds() / 1e9


def _episodes(events: Iterable[oee_pb2.DowntimeEvent], line: str) -> list[_Episode]:
    """The unplanned episodes of ``line``'s machines, from events newest first."""
    out: dict[str, _Episode] = {}
    for e in events:
        if e.planned or e.machine.rsplit("/", 1)[0] != line or e.machine.count("/") != 3:
            continue
        episode = out.setdefault(e.id, _Episode(e.id, e.machine, _seconds(e.start), None, e.reason))
        if e.HasField("end") and episode.end is None:
            episode.end = _seconds(e.end)
    return sorted(out.values(), key=lambda ep: (ep.start, ep.machine))


def _event(line: str, cascade: list[_Episode]) -> oee_pb2.DowntimeEvent:
    root = next((ep for ep in cascade if not ep.knock_on), cascade[0])
    ended = all(ep.end is not None for ep in cascade)
    event = oee_pb2.DowntimeEvent(
        id=hashlib.sha256(f"{line}@{root.id}".encode()).hexdigest()[:12],
        machine=line,
        kind=oee_pb2.DOWNTIME_KIND_ENDED if ended else oee_pb2.DOWNTIME_KIND_STARTED,
        reason=root.reason,
        root_cause_machine=root.machine,
    )
    event.start.FromNanoseconds(int(cascade[0].start * 1e9))
    if ended:
        event.end.FromNanoseconds(int(max(ep.end or 0.0 for ep in cascade) * 1e9))
    for ep in cascade:
        state = "root_cause" if ep is root else ep.knock_on or "stopped"
        event.line_states.setdefault(ep.machine.rsplit("/", 1)[1], state)
    return event


def line_stops(events: Iterable[oee_pb2.DowntimeEvent], line: str) -> list[oee_pb2.DowntimeEvent]:
    """The line's stops, oldest first, from its machines' downtime events (any order)."""
    cascades: list[list[_Episode]] = []
    until = float("-inf")
    for ep in _episodes(events, line):
        if cascades and ep.start <= until:
            cascades[-1].append(ep)
        else:
            cascades.append([ep])
            until = float("-inf")
        until = max(until, float("inf") if ep.end is None else ep.end)
    return [_event(line, c) for c in cascades]


class LineStops:
    """What was published of each line's stops, so only new and changed ones go out."""

    def __init__(self) -> None:
        self.published: dict[str, dict[str, bytes]] = {}

    def changed(
        self, events: Iterable[oee_pb2.DowntimeEvent], line: str
    ) -> list[oee_pb2.DowntimeEvent]:
        """The line's stops that are new or differ from what was published."""
        now = {e.id: e for e in line_stops(events, line)}
        before = self.published.get(line, {})
        out = [e for i, e in now.items() if before.get(i) != e.SerializeToString()]
        self.published[line] = {i: e.SerializeToString() for i, e in now.items()}
        return out
