"""What the OEE service publishes from :meth:`LiveOee.drain`: downtime events and final
figures at once, snapshots of the machines whose figures changed and of their lines (each
at once when a machine's state changed or was corrected, at most once a second when only
counts changed), to the bus and to the gRPC watchers (``listeners``).

A line's snapshot sums the views of all its machines, so it follows the same rule as a
machine's rather than going out with every snapshot of one of them.
"""

from __future__ import annotations

import asyncio

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.oee.lines import line_of
from plantbus.oee.live import LiveOee
from plantbus.oee.views import Views
from plantbus.sdk.errors import NotFound
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
        """Machine or line -> when its snapshot was last sent."""
        self.lines: set[str] = set()
        """Lines whose snapshot is to be sent (one of their machines' was)."""
        self.urgent_lines: set[str] = set()
        self.listeners: set[asyncio.Queue[oee_pb2.OeeSnapshot]] = set()

    def reset(self) -> None:
        """Forget the snapshots waiting (the state they came from was rebuilt)."""
        self.dirty, self.urgent = set(), set()
        self.lines, self.urgent_lines = set(), set()

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
        views: Views = {}  # nothing changes while this publishes: one view per machine
        for machine in self._due(self.dirty, self.urgent, now):
            self.lines.add(line_of(machine))
            if machine in self.urgent:
                self.urgent_lines.add(line_of(machine))
            self.urgent.discard(machine)
            if machine in live.engine.machines:
                await self.send(live.machine_snapshot(machine, now, views))
        for line in self._due(self.lines, self.urgent_lines, now):
            self.urgent_lines.discard(line)
            try:
                snap = live.line_snapshot(line, now, views)
            except NotFound:  # no machine of the line has figures yet
                continue
            await self.send(snap)

    def _due(self, waiting: set[str], urgent: set[str], now: float) -> list[str]:
        """The scopes of ``waiting`` to send now (taken out of it): urgent ones, and those
        last sent a second ago or more."""
        due = [s for s in waiting if s in urgent or now - self.last_sent.get(s, 0.0) >= 1.0]
        for scope in due:
            waiting.discard(scope)
            self.last_sent[scope] = now
        return sorted(due)

    async def send(self, snap: oee_pb2.OeeSnapshot) -> None:
        """One snapshot to the bus and every watcher."""
        await self.bus.publish(subjects.oee(*snap.scope.split("/")), snap)
        for queue in self.listeners:
            if queue.qsize() < _QUEUED:
                queue.put_nowait(snap)
