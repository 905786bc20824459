"""The telemetry alerting reads: the samples of the tags its rules, the machine states and
the configured suppressions look at, and no other, kept in step with the rules of the
areas this replica runs (:class:`plantbus.kit.tagfeed.TagFeed`: a tag judged before and
after a change misses no sample and sees none twice).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from google.protobuf.message import DecodeError
from nats.aio.msg import Msg

from plantbus.kit import tagfeed
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus
from plantbus.v1 import telemetry_pb2

__all__ = ["TelemetryFeed"]

Handler = Callable[[telemetry_pb2.TagSampleBatch], Awaitable[None]]


class TelemetryFeed:
    """The telemetry of the machines of the tags given, each batch decoded for ``handler``
    (which passes over the samples of other tags)."""

    def __init__(self, bus: Bus, handler: Handler, log: logging.Logger) -> None:
        self.handler = handler
        self.log = log
        self.source = tagfeed.TagFeed(bus, self._on_msg)
        self._trace = otel.Consumption(f"receive {tagfeed.EVERY_MACHINE}")

    async def follow(self, paths: Iterable[str]) -> None:
        """Read the cycles of the machines of the tag paths ``paths`` from now on (none:
        read nothing)."""
        wanted = tagfeed.filters(paths, self.source.bus.nc.max_payload)
        if await self.source.follow(wanted) and wanted == [tagfeed.EVERY_MACHINE]:
            self.log.warning("alerting reads every machine: they do not fit in one filter")

    async def close(self) -> None:
        """Stop reading (messages still queued are ignored)."""
        await self.source.stop()

    async def _on_msg(self, generation: int, msg: Msg) -> None:
        if not self.source.fresh(generation, msg):
            return
        seq = self.source.seq = msg.metadata.sequence.stream
        try:
            batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        except DecodeError:
            self.log.warning("skipped undecodable telemetry at stream sequence %d", seq)
            return
        with self._trace.handling(msg.headers):
            await self.handler(batch)
