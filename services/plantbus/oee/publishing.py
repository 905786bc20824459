"""What the OEE service publishes from :meth:`LiveOee.drain`: downtime events and final
figures at once, snapshots of the machines whose figures changed and of their lines (at
once when a machine's state changed or was corrected, at most once a second when only
counts changed), to the bus and to the gRPC watchers (``listeners``).

A line's snapshot sums the views of all its machines, so the counts-only snapshots of a
line's machines go out with the line's, from one view of each machine; the message path
sends only what is urgent and leaves them to the tick (four times a second), so no
message walks every machine.
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

    async def publish(
        self, live: LiveOee, now: float, *, snapshots: bool = True, counts: bool = True
    ) -> None:
        """Everything ``live`` has to publish; snapshots only when ``snapshots`` (else the
        machines wait, still dirty, for a later call), those of changed counts only when
        ``counts`` (the message path leaves them to the tick)."""
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
        urgent, self.urgent = sorted(self.urgent), set()
        for machine in urgent:
            await self._machine(live, machine, now, views)
            self.urgent_lines.add(line_of(machine))
        waiting: dict[str, list[str]] = {}
        if counts:
            for machine in self.dirty:  # counts only: sent with their line's snapshot
                waiting.setdefault(line_of(machine), []).append(machine)
            self.lines |= waiting.keys()
        lines = self.lines | self.urgent_lines if counts else self.urgent_lines
        for line in sorted(lines):
            if line in self.urgent_lines or self._due(line, now):
                await self._line(live, line, sorted(waiting.get(line, [])), now, views)

    async def _machine(self, live: LiveOee, machine: str, now: float, views: Views) -> None:
        self.dirty.discard(machine)
        self.last_sent[machine] = now
        if machine in live.engine.machines:
            await self.send(live.machine_snapshot(machine, now, views))

    async def _line(
        self, live: LiveOee, line: str, machines: list[str], now: float, views: Views
    ) -> None:
        """A line's snapshot, after those of its ``machines`` that are due."""
        self.lines.discard(line)
        self.urgent_lines.discard(line)
        self.last_sent[line] = now
        for machine in machines:
            if self._due(machine, now):
                await self._machine(live, machine, now, views)
        try:
            snap = live.line_snapshot(line, now, views)
        except NotFound:  # no machine of the line has figures yet
            return
        await self.send(snap)

    def _due(self, scope: str, now: float) -> bool:
        """Whether a counts-only snapshot of ``scope`` may go: last sent a second ago."""
        return now - self.last_sent.get(scope, 0.0) >= 1.0

    async def send(self, snap: oee_pb2.OeeSnapshot) -> None:
        """One snapshot to the bus and every watcher."""
        await self.bus.publish(subjects.oee(*snap.scope.split("/")), snap)
        for queue in self.listeners:
            if queue.qsize() < _QUEUED:
                queue.put_nowait(snap)
