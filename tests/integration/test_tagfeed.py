"""A filtered telemetry read made again before its first message arrived (a config
change right after start) starts where the first one did: nothing published between the
two is missed."""

from __future__ import annotations

from nats.aio.msg import Msg

from plantbus.kit import streams, tagfeed
from plantbus.kit.bus import Bus
from plantbus.testing.messages import publish_value
from plantbus.testing.waiting import wait_until


async def test_a_feed_made_again_before_a_message_misses_nothing(bus: Bus) -> None:
    await streams.ensure_stream(bus, streams.TELEMETRY)
    await publish_value(bus, "s/a/l/m1/temp", 1.0)  # before the feed: not read

    async def stored() -> int:
        return int((await bus.js.stream_info(streams.TELEMETRY.name)).state.last_seq or 0)

    await wait_until(stored, timeout=10, message="the first sample stored")
    wanted = tagfeed.filters(["s/a/l/m1/temp"], bus.nc.max_payload)
    seen: list[int] = []

    async def ignore(msg: Msg) -> None:
        pass

    first, start = await tagfeed.subscribe(bus, wanted, 0, ignore)
    assert start == 1  # the stream's end when it was made
    await publish_value(bus, "s/a/l/m1/temp", 2.0)  # while the first feed is replaced
    await first.unsubscribe()

    async def record(msg: Msg) -> None:
        seen.append(msg.metadata.sequence.stream)

    second, again = await tagfeed.subscribe(bus, wanted, start, record)
    assert again == start
    await wait_until(lambda: seen == [2], timeout=10, message="the sample between the feeds")
    await second.unsubscribe()
