"""Telemetry onto the bus: each device cycle stored in the telemetry stream as one message
on the device's cycle subject (:func:`plantbus.kit.subjects.cycle`; split over several
when it would not fit one), spooled to disk while NATS is unreachable and replayed in
order when it is back. Every sample also goes out live, once, as its own core-NATS
message on its tag's subject, for subscribers that want a few tags as they happen (not
replayed from the spool: what must not be missed is read from the stream).

One stored message per cycle rather than per sample is what lets a replicated stream keep
up: the servers' cost is per message, and at R3 every message is replicated twice more
(docs/benchmarks.md, "One stored message per device cycle").

Delivery is at-least-once without duplicates in the stream:

- a device's cycle is sent as plain publishes with the last one awaiting a JetStream
  ack (one connection's messages reach the stream in order, so that ack confirms
  the cycle); no per-sample task or round trip; the plain publishes are framed here
  (:mod:`plantbus.device.wire`) and handed to the connection in one piece;
- cycles not yet acknowledged stay in memory; when NATS goes away, an ack fails or
  takes longer than ``ack_timeout_s``, they go to the spool first, then whatever
  comes next, so per-tag order holds;
- a device's cycle is sent only once the stream has acknowledged its previous one
  (other devices' cycles stay in flight meanwhile): while a stream has no leader (a
  NATS node died) its messages are dropped, not refused, and a cycle sent after the
  dropped one could be stored before it is replayed; waiting for the ack, normally a
  few milliseconds, closes that window (the device's polls overrun meanwhile);
- every stored message carries ``Nats-Msg-Id`` = ``<runner epoch>:<path>:<sequence>`` of
  its first sample, and the spool keeps the messages as they were sent, so a message sent
  twice (stored, but its ack lost with the connection) is dropped by the stream's
  duplicate window (2 minutes by default);
- samples the spool cannot write (its disk is full) are counted in the ``samples_lost``
  of the device they came from; the spool reports the error in its health;
- at most about ``max_unacked`` samples are in flight: past that, a cycle waits for the
  stream to acknowledge the oldest before it is sent, so devices polled faster than
  JetStream stores slow down to its pace (their polls overrun and skip cycles) instead
  of piling up in memory until the acks time out and everything goes to the spool;
- a polled device waits for that room before it reads (:meth:`TelemetryPublisher.room`),
  so the bound holds for what is read but not yet acknowledged too: when 1,000 devices
  of 50 tags polled at once (a config applied), 30,000 samples waited in memory, read and
  encoded, for the first 20,000 to be acknowledged, which set the process's high-water
  mark (about 30 MB, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from plantbus.device.spool import Spool
from plantbus.device.wire import Record, batches, frames, headers, samples_in, write
from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.kit.tasks import cancel
from plantbus.v1 import device_pb2

__all__ = ["TelemetryPublisher"]

log = logging.getLogger(__name__)

_PER_TAG = f"{subjects.PREFIX}.telemetry."


@dataclass
class _InFlight:
    """One published cycle waiting for its ack."""

    ack: asyncio.Future[Any]
    records: list[Record]
    """Its batches (:func:`~plantbus.device.wire.batches`), as the spool keeps them."""
    samples: int
    sent_at: float
    counters: device_pb2.DeviceCounters
    """Of the device that sent it."""

    def confirmed(self) -> bool:
        return self.ack.done() and not self.ack.cancelled() and self.ack.exception() is None


class TelemetryPublisher:
    """Publishes device cycles; never loses one it accepted (within the spool bound)."""

    def __init__(
        self, bus: Bus, spool: Spool, ack_timeout_s: float = 5.0, max_unacked: int = 50_000
    ) -> None:
        self.bus = bus
        self.spool = spool
        self.ack_timeout_s = ack_timeout_s
        self.max_unacked = max_unacked
        self.published = 0
        self.waited_s = 0.0
        """Time cycles spent waiting for the stream to catch up (``max_unacked``)."""
        self._in_flight: deque[_InFlight] = deque()
        self._last_of: dict[int, _InFlight] = {}
        """Each device's latest cycle, by the identity of its counters (one per device)."""
        self._failed = False
        """An ack in flight failed: spool from the oldest cycle on, before sending more."""
        self._unacked = 0
        self._reserved = 0
        """Samples of the devices reading now, inside :meth:`room`."""
        self._freed = asyncio.Event()
        """Set when a reservation ends."""
        self._gate = asyncio.Lock()
        """Devices waiting for room queue here, in order, and only the first watches the
        stream: 600 devices all woken by every ack cost more CPU than the samples did."""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Begin replaying whatever an earlier run left in the spool."""
        self._task = asyncio.create_task(self._replay_loop(), name="spool-replay")
        if len(self.spool):
            log.warning("replaying %d spooled telemetry records", len(self.spool))
            self._wake.set()

    async def stop(self) -> None:
        """Stop replaying; unacknowledged cycles are spooled, the spool stays on disk."""
        if self._task:
            await cancel(self._task)
            self._task = None
        acks = [cycle.ack for cycle in self._in_flight]
        if acks and self.bus.connected:
            await asyncio.wait(acks, timeout=self.ack_timeout_s)
        self._settle(flush=True)

    @asynccontextmanager
    async def room(self, counters: device_pb2.DeviceCounters, samples: int) -> AsyncIterator[None]:
        """Room for a cycle of at most ``samples`` of the device with ``counters``, to be
        read and published inside: waits for its previous cycle's ack and until the samples
        in flight and reserved by others are below ``max_unacked``, then holds ``samples``
        of that room until the block ends."""
        self._settle()
        await self._after_previous(counters)
        # Past the gate when it is free and there is room: that may go ahead of a device
        # just woken to take it (the bound holds), and saves handing the lock from device
        # to device, a loop pass each, while the stream is behind.
        if self._gate.locked() or self._full(reserving=True):
            async with self._gate:
                await self._make_room(reserving=True)
        self._reserved += samples
        try:
            yield
        finally:
            self._reserved -= samples
            self._freed.set()

    async def publish(
        self, records: list[Record], counters: device_pb2.DeviceCounters, trace: str = ""
    ) -> None:
        """Publish one cycle of a device (its messages from :mod:`plantbus.device.samples`);
        ``counters`` are the device's (for the samples the spool could not keep), ``trace``
        the cycle's ``traceparent`` (a spooled record is replayed without it)."""
        if not records:
            return
        self._settle()
        await self._make_room()
        await self._after_previous(counters)
        stored = batches(records, self.bus.nc.max_payload)
        if not stored:  # no sample of a device: nothing the stream could hold
            return
        if len(self.spool) or not self.bus.connected:
            self._settle(flush=True)
            self._spool(stored, counters)
            return
        await write(self.bus.nc, frames(records, self.bus.nc.max_payload, trace))  # live
        ack = await self._send(stored, trace)
        ack.add_done_callback(self._note_failure)
        cycle = _InFlight(ack, stored, len(records), time.monotonic(), counters)
        self._in_flight.append(cycle)
        self._last_of[id(counters)] = cycle
        self._unacked += len(records)
        self.published += len(records)

    def _note_failure(self, ack: asyncio.Future[Any]) -> None:
        if not ack.cancelled() and ack.exception() is not None:
            self._failed = True

    async def _after_previous(self, counters: device_pb2.DeviceCounters) -> None:
        """Wait until the device's previous cycle is acknowledged, at most until it is due
        (then :meth:`_settle` spools it, and this cycle follows it into the spool)."""
        previous = self._last_of.get(id(counters))
        if previous is None or previous.ack.done():
            return
        started = time.monotonic()
        due = self.ack_timeout_s - (started - previous.sent_at)
        await asyncio.wait([previous.ack], timeout=max(due, 0.0) + 0.01)
        self.waited_s += time.monotonic() - started
        self._settle()

    async def _make_room(self, reserving: bool = False) -> None:
        """Wait while ``max_unacked`` samples are in flight (``reserving``: or reserved):
        for the oldest cycle's ack, at most until it is due (then :meth:`_settle` spools),
        or, with nothing in flight, for a reservation to end."""
        started = time.monotonic()
        while self._full(reserving):
            if self._in_flight:
                head = self._in_flight[0]
                due = self.ack_timeout_s - (time.monotonic() - head.sent_at)
                await asyncio.wait([head.ack], timeout=max(due, 0.0) + 0.01)
                self._settle()
            elif reserving and self._reserved:
                self._freed.clear()
                await self._freed.wait()
            else:
                break
        self.waited_s += time.monotonic() - started

    def _full(self, reserving: bool) -> bool:
        """Whether ``max_unacked`` samples are in flight (``reserving``: or reserved)."""
        return self._unacked + (self._reserved if reserving else 0) >= self.max_unacked

    def _settle(self, flush: bool = False) -> None:
        """Forget acknowledged cycles; spool, in order, from the first that failed, timed
        out, or (``flush``) is still open, with every cycle after it."""
        now = time.monotonic()
        failed, self._failed = self._failed, False
        while self._in_flight and self._in_flight[0].confirmed():
            done = self._in_flight.popleft()
            self._unacked -= done.samples
            if self._last_of.get(id(done.counters)) is done:
                del self._last_of[id(done.counters)]
        if not self._in_flight:
            return
        head = self._in_flight[0]
        if flush or failed or head.ack.done() or now - head.sent_at > self.ack_timeout_s:
            moved = sum(cycle.samples for cycle in self._in_flight)
            for cycle in self._in_flight:
                cycle.ack.cancel()
                self._spool(cycle.records, cycle.counters)
            self._in_flight.clear()
            self._last_of.clear()
            self._unacked = 0
            log.warning("telemetry: %d unacknowledged samples moved to the spool", moved)

    def _spool(self, records: list[Record], counters: device_pb2.DeviceCounters) -> None:
        kept = self.spool.extend(records)
        counters.samples_lost += sum(samples_in(payload) for _, payload in records[kept:])
        self._wake.set()

    async def _replay_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while len(self.spool):
                if not self.bus.connected:
                    await asyncio.sleep(0.2)
                    continue
                try:
                    records = self.spool.oldest_segment()
                    if records:  # an empty segment (crash right after creating it) is dropped
                        await self._replay(records)
                except Exception as err:  # noqa: BLE001 - NATS went away again: retry the segment
                    log.warning("spool replay paused: %s", err)
                    await asyncio.sleep(0.5)
                    continue
                self.spool.drop_oldest_segment()
                log.info("spool replayed a segment; %d records left", len(self.spool))

    async def _replay(self, records: list[Record]) -> None:
        """Send a segment: plain publishes, then the last record with a JetStream ack that
        confirms them all; on failure the segment is sent again (repeats are deduplicated).
        A segment that an earlier release spooled holds one record per sample: its
        samples are stored as batches now."""
        if records[0][0].startswith(_PER_TAG):
            records = batches(records, self.bus.nc.max_payload)
            if not records:  # no sample of a device: nothing the stream could hold
                return
        await asyncio.wait_for(await self._send(records), 10)

    async def _send(self, records: list[Record], trace: str = "") -> asyncio.Future[Any]:
        """Plain publishes, the last one with a JetStream ack; the future of that ack."""
        nc = self.bus.nc
        await write(nc, frames(records[:-1], nc.max_payload, trace))
        key, payload = records[-1]
        subject, _, msg_id = key.partition(" ")
        return await self.bus.js.publish_async(subject, payload, headers=headers(msg_id, trace))
