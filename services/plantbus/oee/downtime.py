"""Downtime episodes: when a machine's stop begins, ends, is given its reason or is
reclassified. Pure: the engine feeds it state changes with their own times and decides
whether a change refines the stop in progress; the service publishes what it returns.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from plantbus.kit import codec
from plantbus.oee.events import StateChange
from plantbus.sdk.errors import NotFound
from plantbus.v1 import oee_pb2

__all__ = ["RECENT", "DowntimeLog", "episode_id"]

RECENT = 500
"""How many downtime events are kept (to list and classify)."""


@dataclass
class DowntimeLog:
    """The recent downtime events, newest first, and each machine's stop in progress."""

    recent: deque[oee_pb2.DowntimeEvent] = field(default_factory=lambda: deque(maxlen=RECENT))
    open: dict[str, oee_pb2.DowntimeEvent] = field(default_factory=dict)
    muted: bool = False
    """While set, events are returned but not kept (a provisional view)."""

    def restore(
        self, recent: Iterable[oee_pb2.DowntimeEvent], open_: Iterable[oee_pb2.DowntimeEvent]
    ) -> None:
        """Take back what was saved before a restart."""
        self.recent.extend(recent)
        self.open = {event.machine: event for event in open_}

    def on_state(self, event: StateChange, refines: bool) -> list[oee_pb2.DowntimeEvent]:
        """The downtime events ``event`` causes; ``refines`` when it only gives the stop in
        progress its reason (the engine decides)."""
        current = self.open.get(event.machine)
        if current is not None and refines:
            current.reason = event.reason
            return self._keep(current)
        out: list[oee_pb2.DowntimeEvent] = []
        if current is not None and (event.state != "stopped" or event.reason != current.reason):
            ended = oee_pb2.DowntimeEvent()
            ended.CopyFrom(current)
            ended.kind = oee_pb2.DOWNTIME_KIND_ENDED
            ended.end.CopyFrom(codec.timestamp(event.ts))
            del self.open[event.machine]
            out += self._keep(ended)
        if event.state == "stopped" and event.machine not in self.open:
            started = oee_pb2.DowntimeEvent(
                id=episode_id(event),
                machine=event.machine,
                kind=oee_pb2.DOWNTIME_KIND_STARTED,
                reason=event.reason,
                start=codec.timestamp(event.ts),
            )
            self.open[event.machine] = started
            out += self._keep(started)
        return out

    def classify(
        self, downtime_id: str, reason: str, actor: str, now: float
    ) -> tuple[oee_pb2.DowntimeEvent, str, float]:
        """(the classified event, the old reason, the episode's seconds up to ``now``);
        raises NotFound for an episode no longer kept."""
        episode = next((d for d in self.recent if d.id == downtime_id), None)
        if episode is None:
            raise NotFound(f"no downtime episode {downtime_id!r} in the recent list")
        old = episode.reason or "unspecified"
        end = episode.end.ToNanoseconds() / 1e9 if episode.HasField("end") else now
        seconds = max(0.0, end - episode.start.ToNanoseconds() / 1e9)
        classified = oee_pb2.DowntimeEvent()
        classified.CopyFrom(episode)
        classified.kind, classified.reason, classified.classified_by = (
            oee_pb2.DOWNTIME_KIND_CLASSIFIED,
            reason,
            actor,
        )
        for d in self.recent:
            if d.id == downtime_id:
                d.reason = reason
        self._keep(classified)
        return classified, old, seconds

    def is_open(self, machine: str) -> bool:
        """True while ``machine``'s stop goes on."""
        return machine in self.open

    def _keep(self, event: oee_pb2.DowntimeEvent) -> list[oee_pb2.DowntimeEvent]:
        if not self.muted:
            self.recent.appendleft(event)
        return [event]


def episode_id(event: StateChange) -> str:
    """A short id from the machine and the stop's start time, so reading the same telemetry
    again (after a restart between publishing and saving) gives the same ids."""
    return hashlib.sha256(f"{event.machine}@{event.ts!r}".encode()).hexdigest()[:12]
