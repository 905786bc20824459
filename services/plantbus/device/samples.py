"""Readings to samples: engineering values (:mod:`.convert`), publish-worthiness
(:mod:`.deadband`), a per-tag sequence, timestamps.

Pure: the caller passes the time, so tests need no clock: ``now`` (wall clock) stamps
the samples, ``mono`` (monotonic, default ``now``) times the ``refresh_s`` republish, so a
wall-clock jump back does not silence a tag.
"""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.config.devices import Tag
from plantbus.device.convert import to_engineering, to_tag_value
from plantbus.device.deadband import Published, worth_publishing
from plantbus.kit.codec import timestamp
from plantbus.sdk.driver import Quality, Reading
from plantbus.v1 import telemetry_pb2

__all__ = ["SampleFilter"]


class SampleFilter:
    """Decides which readings of one device become samples."""

    def __init__(self, machine_path: str, tags: list[Tag], refresh_s: float = 60.0) -> None:
        self.paths = {t.name: f"{machine_path}/{t.name}" for t in tags}
        self.tags = {t.name: t for t in tags}
        self.refresh_s = refresh_s
        self._last: dict[str, Published] = {}
        self._now: tuple[float, Timestamp] = (-1.0, Timestamp())

    def bad_tags(self) -> int:
        """How many tags were last published with BAD quality."""
        return sum(1 for p in self._last.values() if p.quality == Quality.BAD)

    def _received(self, now: float) -> Timestamp:
        """``now`` as a Timestamp, built once per cycle (every reading of a cycle shares it)."""
        if self._now[0] != now:
            self._now = (now, timestamp(now))
        return self._now[1]

    def accept(
        self, reading: Reading, now: float, force: bool = False, mono: float | None = None
    ) -> telemetry_pb2.TagSample | None:
        """The sample to publish for ``reading``, or None when deadband holds it back."""
        tag = self.tags.get(reading.tag)
        if tag is None:
            return None
        value = to_engineering(tag, reading.value) if reading.quality != Quality.BAD else None
        last = self._last.get(reading.tag)
        timer = now if mono is None else mono
        if not force and not worth_publishing(
            tag, last, value, reading.quality, timer, self.refresh_s
        ):
            return None
        sequence = last.sequence + 1 if last else 1
        self._last[reading.tag] = Published(value, reading.quality, timer, sequence)
        received = self._received(now)
        return telemetry_pb2.TagSample(
            path=self.paths[reading.tag],
            value=to_tag_value(value),
            unit=tag.unit,
            source_time=timestamp(reading.source_time.timestamp())
            if reading.source_time
            else received,
            receive_time=received,
            quality=int(reading.quality),  # type: ignore[arg-type]
            quality_reason=reading.reason,
            sequence=sequence,
        )
