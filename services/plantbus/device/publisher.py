"""Telemetry onto the bus: one message per tag subject, captured by the telemetry stream;
spooled to disk while NATS is unreachable and replayed in order when it is back."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.js.api import StreamConfig

from plantbus.device.spool import Spool
from plantbus.sdk.bus import TYPE_HEADER, Bus
from plantbus.sdk.subjects import PREFIX
from plantbus.v1 import telemetry_pb2

__all__ = ["TELEMETRY_STREAM", "TelemetryPublisher", "ensure_telemetry_stream"]

log = logging.getLogger(__name__)

TELEMETRY_STREAM = "PLANTBUS_TELEMETRY"
_HEADERS = {TYPE_HEADER: "plantbus.v1.TagSampleBatch"}


async def ensure_telemetry_stream(
    bus: Bus, max_age_s: float = 24 * 3600, max_bytes: int = 2 * 2**30
) -> None:
    """The stream that keeps telemetry for consumers that must not miss any (OEE, IT)."""
    await bus.ensure_stream(
        StreamConfig(
            name=TELEMETRY_STREAM,
            subjects=[f"{PREFIX}.telemetry.>"],
            max_age=max_age_s,
            max_bytes=max_bytes,
        )
    )


def subject_of(path: str) -> str:
    """plantbus.v1.telemetry.<site>.<area>.<line>.<machine>.<tag> for a tag path."""
    return f"{PREFIX}.telemetry.{path.replace('/', '.')}"


class TelemetryPublisher:
    """Publishes sample batches; never loses one it accepted (within the spool bound)."""

    def __init__(self, bus: Bus, spool: Spool) -> None:
        self.bus = bus
        self.spool = spool
        self.published = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Begin replaying whatever an earlier run left in the spool."""
        self._task = asyncio.create_task(self._replay_loop(), name="spool-replay")
        if len(self.spool):
            log.warning("replaying %d spooled telemetry records", len(self.spool))
            self._wake.set()

    async def stop(self) -> None:
        """Stop replaying; the spool stays on disk for the next start."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def publish(self, device: str, samples: list[telemetry_pb2.TagSample]) -> None:
        """Publish one message per sample subject; spool when NATS is away or spool pending."""
        items = [
            (
                subject_of(s.path),
                telemetry_pb2.TagSampleBatch(samples=[s], device=device).SerializeToString(),
            )
            for s in samples
        ]
        if len(self.spool) or not self.bus.connected:
            self.spool.extend(items)
            self._wake.set()
            return
        publish = self.bus.nc.publish
        for subject, payload in items:
            await publish(subject, payload, headers=_HEADERS)
        self.published += len(items)

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

    async def _replay(self, records: list[tuple[str, bytes]]) -> None:
        """Send a segment: plain publishes, then the last record with a JetStream ack.

        One connection's messages reach the stream in order, so the ack of the last one
        confirms the whole segment. When anything fails the segment is sent again: a
        replay is at-least-once, and consumers drop repeats by (path, sequence).
        """
        *body, (last_subject, last_payload) = records
        publish = self.bus.nc.publish
        for subject, payload in body:
            await publish(subject, payload, headers=_HEADERS)
        await self.bus.js.publish(last_subject, last_payload, headers=_HEADERS, timeout=10)
