"""Readings to samples: scaling, deadband with a periodic refresh, quality changes, sequences.

Pure: the caller passes the time, so tests need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.config.devices import Tag
from plantbus.sdk.driver import Quality, Reading, Scalar
from plantbus.v1 import telemetry_pb2

__all__ = ["SampleFilter", "to_tag_value"]

_INT64_MAX = 2**63 - 1


def to_tag_value(value: Scalar | None) -> telemetry_pb2.TagValue:
    """The protobuf form of a scalar (empty for None)."""
    out = telemetry_pb2.TagValue()
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if value > _INT64_MAX:
            out.uint_value = value
        else:
            out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    else:
        out.bytes_value = bytes(value)
    return out


def _timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


@dataclass
class _Last:
    value: Scalar | None
    quality: Quality
    published_at: float
    sequence: int


class SampleFilter:
    """Decides which readings of one device become samples."""

    def __init__(self, machine_path: str, tags: list[Tag], refresh_s: float = 60.0) -> None:
        self.paths = {t.name: f"{machine_path}/{t.name}" for t in tags}
        self.tags = {t.name: t for t in tags}
        self.refresh_s = refresh_s
        self._last: dict[str, _Last] = {}
        self._now: tuple[float, Timestamp] = (-1.0, Timestamp())

    def scaled(self, tag: Tag, value: Scalar | None) -> Scalar | None:
        """Engineering value: raw * scale + offset for numbers when scaling is configured."""
        if (
            value is None
            or isinstance(value, bool | str | bytes)
            or (tag.scale == 1.0 and tag.offset == 0.0)
        ):
            return value
        return float(value) * tag.scale + tag.offset

    def _changed(self, tag: Tag, last: _Last, value: Scalar | None, quality: Quality) -> bool:
        if quality != last.quality:
            return True
        if (
            tag.deadband > 0
            and isinstance(value, int | float)
            and isinstance(last.value, int | float)
            and not isinstance(value, bool)
        ):
            return abs(float(value) - float(last.value)) > tag.deadband
        return value != last.value

    def _received(self, now: float) -> Timestamp:
        """``now`` as a Timestamp, built once per cycle (every reading of a cycle shares it)."""
        if self._now[0] != now:
            self._now = (now, _timestamp(now))
        return self._now[1]

    def accept(
        self, reading: Reading, now: float, force: bool = False
    ) -> telemetry_pb2.TagSample | None:
        """The sample to publish for ``reading``, or None when deadband holds it back."""
        tag = self.tags.get(reading.tag)
        if tag is None:
            return None
        value = self.scaled(tag, reading.value) if reading.quality != Quality.BAD else None
        last = self._last.get(reading.tag)
        if (
            last is not None
            and not force
            and now - last.published_at < self.refresh_s
            and not self._changed(tag, last, value, reading.quality)
        ):
            return None
        sequence = last.sequence + 1 if last else 1
        self._last[reading.tag] = _Last(value, reading.quality, now, sequence)
        received = self._received(now)
        return telemetry_pb2.TagSample(
            path=self.paths[reading.tag],
            value=to_tag_value(value),
            unit=tag.unit,
            source_time=_timestamp(reading.source_time.timestamp())
            if reading.source_time
            else received,
            receive_time=received,
            quality=int(reading.quality),  # type: ignore[arg-type]
            quality_reason=reading.reason,
            sequence=sequence,
        )
