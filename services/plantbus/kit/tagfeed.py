"""Reading only the telemetry a service uses: an ordered consumer of the telemetry stream
(:data:`plantbus.kit.streams.CYCLES`, one message per device cycle) whose filter subjects
are those of the machines of the tags it needs, so nats-server delivers no other machine's
cycles (a rule or an OEE mapping touches a few tags of a few machines; receiving every
sample cost OEE and alerting most of their CPU at plant scale). The samples of the other
tags of those machines arrive too: the handlers pass over them.

The consumer's create request carries every filter subject; when that would not fit in
one message (half the server's max_payload: the reply repeats them), the consumer reads
every machine instead, which is correct, only dearer.

:class:`TagFeed` keeps such a read in step with the tags a service needs now: when they
change (a config change, a scope handed over) it makes the consumer again from right after
the last message read, so a tag read before and after misses nothing and sees nothing twice.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.config.devices import Device
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus

__all__ = ["EVERY_MACHINE", "TagFeed", "current_since", "filters", "subscribe"]

EVERY_MACHINE = f"{subjects.PREFIX}.cycle.>"
_SLACK_S = 5.0
"""Read this much further back than a device's ``refresh_s``: a poll that overran."""


def current_since(devices: Iterable[Device]) -> datetime:
    """From when the stream holds the current value of every tag of ``devices``: the
    longest ``refresh_s`` back (a device publishes each tag at least that often, changed
    or not), and a little more."""
    back = max((device.refresh_s for device in devices), default=0.0)
    return datetime.now(UTC) - timedelta(seconds=back + _SLACK_S)


def filters(paths: Iterable[str], max_payload: int) -> list[str]:
    """The filter subjects for the tag paths ``paths`` (``site/area/line/machine/tag``):
    the cycle subjects of their machines, sorted; ``[EVERY_MACHINE]`` when they would not
    fit in a request of ``max_payload``."""
    wanted = sorted({subjects.cycles_of(path.rpartition("/")[0]) for path in paths})
    if not wanted:
        return []
    if len(json.dumps(wanted)) + 1024 > max_payload // 2:
        return [EVERY_MACHINE]
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
        info = await bus.js.stream_info(streams.CYCLES.name)
        after = int(info.state.last_seq or 0)
    cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
    if len(wanted) > 1:
        cfg.filter_subjects = wanted
    sub = await bus.js.subscribe(
        wanted[0],
        stream=streams.CYCLES.name,
        ordered_consumer=True,
        config=cfg,
        cb=cb,
    )
    return sub, after


class TagFeed:
    """One ordered consumer of the telemetry stream at a time, filtered to the subjects
    followed now, each one made from after ``seq``.

    ``handler(generation, msg)`` gets every message of the consumers it makes, with the
    generation of the consumer that read it; it skips those :meth:`fresh` refuses (queued
    by a consumer since replaced, or read already) and moves ``seq`` on to a message's
    sequence once that message counts as handled: before it awaits anything during which
    :meth:`follow` may run, or under the lock that its callers hold, so that a consumer
    made again neither reads that message again nor misses it.
    """

    def __init__(self, bus: Bus, handler: Callable[[int, Msg], Awaitable[None]]) -> None:
        self.bus = bus
        self.handler = handler
        self.subjects: list[str] = []
        """The filter subjects of the consumer now ([]: none)."""
        self.seq = 0
        """The stream sequence of the last message handled (0: none yet, the next consumer
        starts at the stream's end); set it while stopped to read again from elsewhere."""
        self.sub: Any = None
        self.generation = 0
        """Bumped whenever a consumer ends: messages of older ones are not fresh."""

    def fresh(self, generation: int, msg: Msg) -> bool:
        """Whether ``msg``, read by the consumer of ``generation``, is still to handle."""
        return generation == self.generation and msg.metadata.sequence.stream > self.seq

    async def follow(self, wanted: list[str]) -> bool:
        """Read the subjects ``wanted`` (from :func:`filters`; [] reads nothing) from after
        ``seq``, with a new consumer unless the one now reads just these; whether it made
        one (or stopped reading)."""
        if wanted == self.subjects and (self.sub is not None or not wanted):
            return False
        await self.stop()
        self.subjects = wanted
        if wanted:
            handler = functools.partial(self.handler, self.generation)
            self.sub, start = await subscribe(self.bus, wanted, self.seq, handler)
            self.seq = max(self.seq, start)  # a message may have been handled meanwhile
        return True

    async def stop(self) -> None:
        """End the consumer (messages it still has queued are not fresh); ``seq`` stays,
        for the next :meth:`follow`."""
        self.generation += 1
        self.subjects = []
        if self.sub is not None:
            sub, self.sub = self.sub, None
            with contextlib.suppress(nats.errors.Error):  # gone with the connection
                await sub.unsubscribe()
