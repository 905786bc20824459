"""The lines one OEE replica runs: their :class:`~plantbus.oee.live.LiveOee` rebuilt from
KV, fed from the telemetry stream, published and saved while the replica holds their leases.

Exactly-once against the stream: each saved value records the last stream sequence it
includes; a rebuild reads the stream from the oldest of them and skips, per machine, what
that machine's value already includes (:mod:`plantbus.oee.saved`). When the share changes
the replica saves the lines it keeps and rebuilds for its new share, exactly as after a
restart; it publishes and saves only while it holds every lease of its share, so one that
was paused past its lease publishes nothing stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.kit import streams
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus
from plantbus.kit.scopes import ScopeOwner
from plantbus.kit.store_health import StoreHealth
from plantbus.kit.tagfeed import TagFeed
from plantbus.oee import feed
from plantbus.oee.lines import only_lines
from plantbus.oee.live import LiveOee
from plantbus.oee.publishing import SnapshotPublisher
from plantbus.oee.saved import encode, restore, values_to_save

__all__ = ["CAUGHT_UP", "LineShare"]

CAUGHT_UP = 100
"""Messages left in the stream below which a rebuilt replica counts as caught up."""
_QUIET_S = 2.0
"""No telemetry for this long while catching up: the replica is at the stream's end."""
_REFRESH_S = 60.0
"""A machine's value is written at least this often, changed or not, so a restore never
reads the stream from further back."""
_REPLAYABLE_S = 10.0
"""A machine changed by telemetry alone (:attr:`LiveOee.replayable`) is written at most
this often: a restore reads those changes from the stream again, at most this much of it."""
_WRITES = 256
"""KV writes of a save in flight at once."""


class LineShare:
    """One replica's lines and everything it computes for them; hold ``lock`` to touch
    ``live``."""

    def __init__(self, bus: Bus, log: logging.Logger) -> None:
        self.bus = bus
        self.log = log
        self.live = LiveOee()
        self.source = TagFeed(bus, self._on_msg)
        """The telemetry of the tags mapped on ``lines`` (:func:`feed.wanted`); its ``seq``
        is the last stream sequence ``live`` includes."""
        self.skip: dict[str, int] = {}
        """Per machine, the stream sequence its restored state already includes."""
        self.lines: set[str] = set()
        """The lines ``live`` was rebuilt for (this replica's share, once taken)."""
        self.out = SnapshotPublisher(bus)
        self.saves = StoreHealth(f"OEE state in KV {streams.OEE_STATE.name}", log)
        self.kv: KeyValue | None = None
        self.scopes: ScopeOwner | None = None
        """The leases of the lines (None: hosted alone, no leases)."""
        self.config: PlantConfig | None = None
        self.lock = asyncio.Lock()
        self.lag = 0
        """Telemetry messages still in the stream after the last one read."""
        self.catching_up = False
        """Reading the stream again after a rebuild: snapshots wait until it is near its
        end, so the figures published never go back to what the saved state had."""
        self._trace = otel.Consumption("oee telemetry")
        self._last_msg = 0.0
        self._saved_at: dict[str, float] = {}
        """Machine -> when (monotonic) its value was last written."""

    def fenced(self) -> bool:
        """Whether this replica holds the lease of every line it runs, right now."""
        scopes = self.scopes
        return scopes is None or all(scopes.holds(line) for line in self.lines)

    async def configure(self, config: PlantConfig) -> None:
        """Take a new plant config for the lines run now and for every rebuild; read the
        tags it maps from right after the last message read."""
        self.config = config
        async with self.lock:
            self.live.configure(only_lines(config, self.lines), time.time())
            if self.lines:
                await self._follow()

    async def _follow(self) -> None:
        """Consume the tags the config maps on the lines run, from after the last message
        read (a new consumer when they changed; messages of the old one are ignored). Hold
        the lock."""
        if self.config is not None:
            await self.source.follow(feed.wanted(self.bus, only_lines(self.config, self.lines)))

    async def rebuild(self, lines: set[str], *, save: bool) -> None:
        """Saved state of ``lines`` from KV into a fresh LiveOee, consumed from there;
        the lines run so far are saved first when ``save``."""
        if save:
            await self.save()
        async with self.lock:
            await self.source.stop()
            self.live, self.source.seq, self.skip, self._saved_at = LiveOee(), 0, {}, {}
            self.lines = set(lines)
            self._last_msg = time.monotonic()
            self.out.reset()
            if self.kv is not None:
                restored = await restore(self.kv, self.live, lines)
                self.source.seq, self.skip = restored.seq, restored.skip
                self.log.info(
                    "restored OEE state of %s up to telemetry sequence %d",
                    sorted(lines),
                    restored.seq,
                )
            end = await feed.stream_end(self.bus) if lines else None
            if end is not None and self.source.seq > end:
                self.log.warning(
                    "the saved OEE state of %s is at telemetry sequence %d, past the end of "
                    "%s (%d): it was saved against another stream (an upgrade from "
                    "PLANTBUS_TELEMETRY, or the stream made anew); reading from its end",
                    sorted(lines),
                    self.source.seq,
                    streams.CYCLES.name,
                    end,
                )
                self.source.seq, self.skip = 0, {}
            self.catching_up = bool(lines) and feed.behind(self.source.seq, end)
            if self.config is not None:
                self.live.configure(only_lines(self.config, lines), time.time())
                if lines:
                    await self._follow()

    async def close(self) -> None:
        """Stop consuming and save one last time."""
        await self.source.stop()
        await self.save()

    async def _on_msg(self, generation: int, msg: Msg) -> None:
        self.lag = msg.metadata.num_pending
        with self._trace.handling(msg.headers):
            await self._on_batch(generation, msg)

    async def _on_batch(self, generation: int, msg: Msg) -> None:
        if not self.source.fresh(generation, msg):
            return
        seq = msg.metadata.sequence.stream
        batch = feed.decode_batch(msg.data)
        if batch is None:
            self.log.warning("skipped undecodable telemetry at stream sequence %d", seq)
            self.source.seq = seq
            return
        async with self.lock:
            if generation != self.source.generation:
                return  # followed other tags or rebuilt while this waited for the lock
            self._last_msg = time.monotonic()
            if self.catching_up and msg.metadata.num_pending < CAUGHT_UP:
                self.catching_up = False
            now = time.time()
            feed.apply_batch(self.live, batch, seq, self.skip, now)
            self.source.seq = seq
            if self.skip and seq >= max(self.skip.values()):
                self.skip.clear()
            await self.publish_due(now, counts=False)

    async def tick(self, now: float) -> None:
        """Let the wall clock move the figures on (calendars, open stops) and publish."""
        async with self.lock:
            if self.catching_up and time.monotonic() - self._last_msg > _QUIET_S:
                self.catching_up = False
            self.live.tick(now)
            await self.publish_due(now)

    async def publish_due(self, now: float, *, counts: bool = True) -> None:
        """What ``live`` has to publish (:class:`SnapshotPublisher`), snapshots only once
        caught up; nothing while a lease of this replica's share is not held (kept for when
        it is renewed, or dropped with the rebuild once lost). Call with the lock held."""
        if not (counts or self.live.out.pressing() or self.out.urgent):
            return  # the message path in steady state: counts wait for the tick
        if self.fenced():
            await self.out.publish(self.live, now, snapshots=not self.catching_up, counts=counts)

    async def save(self) -> None:
        """Store each line's shared state and the open state of each machine touched since
        (changed by telemetry alone: written over ``_REPLAYABLE_S`` ago; unchanged: over
        ``_REFRESH_S`` ago), each with the stream sequence it includes: a value not written
        is the state at its own sequence, and a restore reads the stream again from there.
        The writes go out together. A failed write (JetStream's store or the bucket full,
        NATS away) is kept in ``saves`` for health, not raised: the next save, 2 s later,
        tries again, and a restart before then resumes from the last saved sequences, so
        nothing is counted twice."""
        if self.kv is None:
            return
        async with self.lock:
            if not self.fenced():
                return  # another replica may have these lines now: its state wins
            now, live = time.monotonic(), self.live
            every = live.engine.machines.keys() | live.machines.keys()
            due = {n for n in every if now - self._saved_at.setdefault(n, now) >= self._wait(n)}
            names, live.touched = live.touched | due, set()
            live.replayable -= names
            docs = values_to_save(live, self.lines, self.source.seq, self.skip, names)
        values = [(key, encode(doc)) for key, doc in docs.items()]
        for start in range(0, len(values), _WRITES):
            chunk = values[start : start + _WRITES]
            writes = [self.saves.put(self.kv, key, value) for key, value in chunk]
            if not all(await asyncio.gather(*writes)):
                live.touched |= names  # written again on the next save
                return
        self._saved_at.update(dict.fromkeys(names, now))

    def _wait(self, machine: str) -> float:
        """How long an unwritten change of ``machine``'s value may wait."""
        return _REPLAYABLE_S if machine in self.live.replayable else _REFRESH_S


async def unsubscribe(sub: Any) -> None:
    """End a subscription (one whose connection closed or drains has ended already)."""
    with contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()
