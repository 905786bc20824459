"""Reading only the telemetry a service uses: an ordered consumer of PLANTBUS_TELEMETRY
whose filter subjects are the subjects of the tags it needs, so nats-server delivers
nothing else (a rule or an OEE mapping touches a few tags of each machine; receiving every
sample cost OEE and alerting most of their CPU at plant scale).

The consumer's create request carries every filter subject; when that would not fit in
one message (half the server's max_payload: the reply repeats them), the consumer reads
every tag instead, which is correct, only dearer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus

__all__ = ["EVERY_TAG", "filters", "subscribe"]

EVERY_TAG = f"{subjects.PREFIX}.telemetry.>"


def filters(paths: Iterable[str], max_payload: int) -> list[str]:
    """The filter subjects for the tag paths ``paths`` (``site/area/line/machine/tag``),
    sorted; ``[EVERY_TAG]`` when they would not fit in a request of ``max_payload``."""
    wanted = sorted({subjects.telemetry_of(path) for path in paths})
    if not wanted:
        return []
    if len(json.dumps(wanted)) + 1024 > max_payload // 2:
        return [EVERY_TAG]
    return wanted


async def subscribe(
    bus: Bus, wanted: list[str], after: int, cb: Callable[[Msg], Awaitable[None]]
) -> tuple[Any, int]:
    """An ordered consumer of the subjects ``wanted`` (from :func:`filters`, not empty)
    from stream sequence ``after + 1``, and the sequence it reads after: ``after``, or for
    0 (nothing read yet) the stream's last one now. The caller keeps that as the last
    sequence read, so a consumer made again before a message arrived (a config change)
    starts where this one did instead of at new messages, and misses nothing between."""
    if not after:
        info = await bus.js.stream_info(streams.TELEMETRY.name)
        after = int(info.state.last_seq or 0)
    cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
    if len(wanted) > 1:
        cfg.filter_subjects = wanted
    sub = await bus.js.subscribe(
        wanted[0],
        stream=streams.TELEMETRY.name,
        ordered_consumer=True,
        config=cfg,
        cb=cb,
    )
    return sub, after
