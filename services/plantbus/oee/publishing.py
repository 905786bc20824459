"""What the OEE service publishes from :meth:`LiveOee.drain`: downtime events and final
figures at once, snapshots of the machines whose figures changed (at once when their state
changed or was corrected, at most once a second when only counts changed) and of their
lines, to the bus and to the gRPC watchers (``listeners``).
"""

from __future__ import annotations

import asyncio

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.oee.lines import line_of
from plantbus.oee.live import LiveOee
from plantbus.v1 import oee_pb2

__all__ = ["SnapshotPublisher"]

_QUEUED = 1000
"""Snapshots a watcher may have waiting; one that falls further behind misses the rest."""


class SnapshotPublisher:
    """Publishes one replica's OEE output."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.dirty: set[str] = set()
        """Machines whose snapshot is to be sent."""
        self.urgent: set[str] = set()
        """Machines among them whose snapshot goes out without waiting for the second."""
        self.last_sent: dict[str, float] = {}
        self.listeners: set[asyncio.Queue[oee_pb2.OeeSnapshot]] = set()

    def reset(self) -> None:
        """Forget the snapshots waiting (the state they came from was rebuilt)."""
        self.dirty, self.urgent = set(), set()

    async def publish(self, live: LiveOee, now: float, *, snapshots: bool = True) -> None:
        """Everything ``live`` has to publish; snapshots only when ``snapshots`` (else the
        machines wait, still dirty, for a later call)."""
        out = live.drain()
        for event in out.downtimes:
            where = [*event.machine.split("/"), "all"][:4]  # a line's stop: .<line>.all
            await self.bus.publish(subjects.downtime(*where), event)
        for final in out.finals:
            await self.bus.publish(subjects.oee_final(*final.scope.split("/")), final)
        self.dirty |= out.dirty | out.urgent
        self.urgent |= out.urgent
        if not snapshots:
            return
        due = {m for m in self.dirty if m in self.urgent or now - self.last_sent.get(m, 0.0) >= 1.0}
        for machine in due:
            self.dirty.discard(machine)
            self.urgent.discard(machine)
            self.last_sent[machine] = now
            if machine in live.engine.machines:
                await self.send(live.machine_snapshot(machine, now))
        for line in {line_of(machine) for machine in due}:
            if any(t.line == line for t in live.engine.machines.values()):
                await self.send(live.line_snapshot(line, now))

    async def send(self, snap: oee_pb2.OeeSnapshot) -> None:
        """One snapshot to the bus and every watcher."""
        await self.bus.publish(subjects.oee(*snap.scope.split("/")), snap)
        for queue in self.listeners:
            if queue.qsize() < _QUEUED:
                queue.put_nowait(snap)
