"""Bus helpers for tests: store a tag value as the device service would, collect the
messages of one type that arrive on a subject pattern, and list the samples a service's
feed hands on."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.v1 import telemetry_pb2

__all__ = ["collected", "handled_paths", "publish_value", "store_samples"]

M = TypeVar("M", bound=Message)


class _Feed(Protocol):
    handler: Callable[[telemetry_pb2.TagSampleBatch], Awaitable[None]]


def handled_paths(feed: _Feed) -> list[str]:
    """The paths of the samples ``feed`` hands its handler from now on, in order (the
    handler still gets every batch)."""
    paths: list[str] = []
    handler = feed.handler

    async def counting(batch: telemetry_pb2.TagSampleBatch) -> None:
        paths.extend(s.path for s in batch.samples)
        await handler(batch)

    feed.handler = counting
    return paths


async def publish_value(bus: Bus, path: str, value: float | int, device: str = "test") -> None:
    """One good sample of the tag ``site/area/line/machine/tag``, stamped now, as a cycle
    of one sample of ``device`` (into the telemetry stream, like the device service's)."""
    sample = telemetry_pb2.TagSample(path=path, quality=telemetry_pb2.QUALITY_GOOD)
    if isinstance(value, int):
        sample.value.int_value = value
    else:
        sample.value.double_value = value
    sample.source_time.FromNanoseconds(time.time_ns())
    subject = subjects.cycle(path.rpartition("/")[0], device)
    await bus.publish(subject, telemetry_pb2.TagSampleBatch(samples=[sample], device=device))


async def store_samples(bus: Bus, *samples: telemetry_pb2.TagSample, device: str = "plc") -> int:
    """``samples`` (of one machine) into the telemetry stream as one cycle of ``device``,
    as the device service stores them; the stream sequence of the message."""
    batch = telemetry_pb2.TagSampleBatch(samples=samples, device=device)
    machine = samples[0].path.rpartition("/")[0]
    ack = await bus.js.publish(
        subjects.cycle(machine, device), batch.SerializeToString(), headers=bus.headers_for(batch)
    )
    return int(ack.seq)


async def collected(bus: Bus, pattern: str, kind: type[M]) -> list[M]:
    """A list that fills with every ``kind`` message published on ``pattern`` from now."""
    out: list[M] = []

    async def handler(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, kind):
            out.append(msg)

    await bus.subscribe(pattern, handler)
    return out
