"""The OEE service's read of the telemetry stream: an ordered consumer of the cycles of the
machines of the tags the OEE mappings read (:mod:`plantbus.kit.tagfeed`) that starts
after the sequence
the restored state includes (:mod:`plantbus.oee.saved`), and each batch given to
:class:`~plantbus.oee.live.LiveOee` sample by sample.
"""

from __future__ import annotations

import nats.errors
from google.protobuf.message import DecodeError

from plantbus.config import PlantConfig
from plantbus.kit import codec, streams, tagfeed
from plantbus.kit.bus import Bus
from plantbus.oee.live import LiveOee, mapped_paths
from plantbus.v1 import telemetry_pb2

__all__ = ["apply_batch", "behind", "decode_batch", "wanted"]


def wanted(bus: Bus, config: PlantConfig) -> list[str]:
    """The filter subjects of the machines of the tags the OEE mappings of ``config``
    read."""
    return tagfeed.filters(mapped_paths(config), bus.nc.max_payload)


async def stream_end(bus: Bus) -> int | None:
    """The telemetry stream's last sequence; None while NATS is slow or away."""
    try:
        info = await bus.js.stream_info(streams.CYCLES.name)
    except nats.errors.Error:
        return None
    return int(info.state.last_seq or 0)


def behind(seq: int, end: int | None) -> bool:
    """Whether the stream, which ends at ``end``, holds telemetry after ``seq`` (0, no saved
    state: reading starts with new messages, nothing to catch up with; ``end`` None, not
    known: the tick loop decides when caught up)."""
    return bool(seq) and (end is None or end > seq)


def decode_batch(data: bytes) -> telemetry_pb2.TagSampleBatch | None:
    """A batch from the stream; None for a payload that is not one (skipped, never fatal)."""
    try:
        return telemetry_pb2.TagSampleBatch.FromString(data)
    except DecodeError:
        return None


def apply_batch(
    live: LiveOee, batch: telemetry_pb2.TagSampleBatch, seq: int, skip: dict[str, int], now: float
) -> None:
    """Give ``live`` the good samples of the batch at stream sequence ``seq``, but none of a
    machine whose restored state already includes that sequence (``skip``), nor those of
    tags no mapping reads."""
    paths = live.paths
    for sample in batch.samples:
        path = sample.path  # most samples are of tags no mapping reads
        if path not in paths or sample.quality != telemetry_pb2.QUALITY_GOOD:
            continue
        if skip and seq <= skip.get(path.rpartition("/")[0], 0):
            continue  # that machine's saved state already includes it
        try:
            ts = sample.source_time.ToNanoseconds() / 1e9
        except ValueError:  # a source time outside years 1-9999 is no time at all
            continue
        live.sample(path, codec.scalar(sample.value), ts, now)
