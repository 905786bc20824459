"""One machine as its timeline's model: applying an input maps it (samples through the
machine's mapper) and feeds the engine; a checkpoint is the machine's track, mapper
baselines and stop in progress. Pure; part of :class:`~plantbus.oee.live.LiveOee`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from plantbus.oee.engine import MachineTrack
from plantbus.oee.events import StateChange
from plantbus.oee.mapping import MachineMapper
from plantbus.oee.timeline import Input, Sample
from plantbus.v1 import oee_pb2

if TYPE_CHECKING:
    from plantbus.oee.live import LiveOee

__all__ = ["Checkpoint", "MachineModel", "Outbox"]

Checkpoint = tuple[MachineTrack | None, dict[str, object] | None, oee_pb2.DowntimeEvent | None]


@dataclass
class Outbox:
    """What to publish: downtime events, final snapshots, machines whose figures changed
    (``urgent``: at once, the state changed or was corrected)."""

    downtimes: list[oee_pb2.DowntimeEvent] = field(default_factory=list)
    finals: list[oee_pb2.OeeSnapshot] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)
    urgent: set[str] = field(default_factory=set)

    def pressing(self) -> bool:
        """Whether any of it goes out at once (anything but snapshots of changed counts)."""
        return bool(self.downtimes or self.finals or self.urgent)


@dataclass
class MachineModel:
    """One machine as its timeline's model: mapper and engine track, checkpointed."""

    live: LiveOee
    name: str
    line: str
    mapper: MachineMapper | None = None
    emitted: list[tuple[float, oee_pb2.DowntimeEvent]] = field(default_factory=list)
    """Downtime events published, with the source time of the input that caused them."""
    replaced: dict[tuple[str, int], bytes] = field(default_factory=dict)
    revision: int = 0

    def apply(self, item: Input) -> None:
        """Map a sample to events and feed them (and any other event) to the engine."""
        if isinstance(item, Sample):
            events = self.mapper.on_sample(item.tag, item.value, item.ts) if self.mapper else []
        else:
            events = [item]
        live = self.live
        for event in events:
            for downtime in live.engine.process(event):
                live.on_downtime(self, event.ts, downtime)
            if isinstance(event, StateChange) and not live.muted:
                live.out.urgent.add(self.name)  # a provisional view changes nothing
        live.on_closed()

    def save(self) -> Checkpoint:
        """The track, the mapper's baselines and the stop in progress, copied."""
        track = self.live.engine.machines.get(self.name)
        episode = self.live.engine.downtime.open.get(self.name)
        return (
            track.copy() if track is not None else None,
            self.mapper.dump() if self.mapper else None,
            _copy(episode) if episode is not None else None,
        )

    def restore(self, state: Checkpoint, since: float) -> None:
        """Back to a checkpoint; for a replay (``since`` finite) the downtime events
        published from then on are taken back, to be compared with the replay's."""
        track, mapper, episode = state
        self.put_back((track.copy() if track is not None else None, mapper, episode))
        if since == float("inf"):
            return
        engine = self.live.engine
        self.revision += 1
        old = [e for ts, e in self.emitted if ts >= since]
        self.emitted = [(ts, e) for ts, e in self.emitted if ts < since]
        self.replaced = {(e.id, e.kind): e.SerializeToString() for e in old}
        taken = {id(e) for e in old}
        recent = engine.downtime.recent
        kept = [e for e in recent if id(e) not in taken]
        recent.clear()
        recent.extend(kept)

    def put_back(self, state: Checkpoint) -> None:
        """Make ``state`` (used up by this) the machine's state."""
        track, mapper, episode = state
        engine = self.live.engine
        if track is None:
            engine.machines.pop(self.name, None)
        else:
            engine.machines[self.name] = track
        if self.mapper and mapper is not None:
            self.mapper.load(mapper)
        if episode is None:
            engine.downtime.open.pop(self.name, None)
        else:
            engine.downtime.open[self.name] = _copy(episode)


def _copy(event: oee_pb2.DowntimeEvent) -> oee_pb2.DowntimeEvent:
    out = oee_pb2.DowntimeEvent()
    out.CopyFrom(event)
    return out
