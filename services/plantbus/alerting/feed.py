"""The telemetry alerting reads: the samples of the tags its rules, the machine states and
the configured suppressions look at, and no other (:mod:`plantbus.kit.tagfeed`), kept in
step with the rules of the areas this replica runs.

A change of those tags makes a new consumer that starts right after the last message
handled, so a tag judged before and after the change misses no sample and sees none
twice (messages of the old consumer still queued are ignored).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import nats.errors
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from plantbus.kit import tagfeed
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus
from plantbus.v1 import telemetry_pb2

__all__ = ["TelemetryFeed"]

Handler = Callable[[telemetry_pb2.TagSampleBatch], Awaitable[None]]


class TelemetryFeed:
    """One ordered consumer of the telemetry stream, filtered to the tags given."""

    def __init__(self, bus: Bus, handler: Handler, log: logging.Logger) -> None:
        self.bus = bus
        self.handler = handler
        self.log = log
        self.subjects: list[str] = []
        """The filter subjects of the consumer now."""
        self.seq = 0
        """The stream sequence of the last message handled (0: none yet)."""
        self._sub: Any = None
        self._generation = 0
        self._trace = otel.Consumption(f"receive {tagfeed.EVERY_TAG}")

    async def follow(self, paths: Iterable[str]) -> None:
        """Read the samples of the tag paths ``paths`` from now on (none: read nothing)."""
        wanted = tagfeed.filters(paths, self.bus.nc.max_payload)
        if wanted == self.subjects and (self._sub is not None or not wanted):
            return
        if wanted == [tagfeed.EVERY_TAG]:
            self.log.warning("alerting reads every tag: its tags do not fit in one filter")
        await self.close()
        self.subjects = wanted
        if wanted:
            generation = self._generation

            async def on_msg(msg: Msg) -> None:
                await self._on_msg(generation, msg)

            self._sub, start = await tagfeed.subscribe(self.bus, wanted, self.seq, on_msg)
            self.seq = max(self.seq, start)  # a message may have been handled meanwhile

    async def close(self) -> None:
        """Stop reading (messages still queued are ignored)."""
        self._generation += 1
        if self._sub is not None:
            sub, self._sub = self._sub, None
            with contextlib.suppress(nats.errors.Error):  # gone with the connection
                await sub.unsubscribe()

    async def _on_msg(self, generation: int, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if generation != self._generation or seq <= self.seq:
            return
        self.seq = seq
        try:
            batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        except DecodeError:
            self.log.warning("skipped undecodable telemetry at stream sequence %d", seq)
            return
        with self._trace.handling(msg.headers):
            await self.handler(batch)
