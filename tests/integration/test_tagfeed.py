"""A filtered telemetry read made again before its first message arrived (a config
change right after start) starts where the first one did: nothing published between the
two is missed. A :class:`~plantbus.kit.tagfeed.TagFeed` that follows other machines, or stops
and follows again, reads on from right after the last message it handled, in order, with
nothing missed or read twice, and ignores what a consumer it ended still delivers."""

from __future__ import annotations

from nats.aio.msg import Msg

from plantbus.kit import streams, tagfeed
from plantbus.kit.bus import Bus
from plantbus.testing.messages import publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2


async def _stored(bus: Bus, count: int) -> None:
    async def done() -> bool:
        info = await bus.js.stream_info(streams.CYCLES.name)
        return int(info.state.last_seq or 0) >= count

    await wait_until(done, timeout=10, message=f"{count} samples stored")


async def test_a_feed_made_again_before_a_message_misses_nothing(bus: Bus) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    await publish_value(bus, "s/a/l/m1/temp", 1.0)  # before the feed: not read
    await _stored(bus, 1)
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


class Reader:
    """A :class:`tagfeed.TagFeed` whose handler records the tag path of each message it
    handles (``machine.tag`` of its sample) and its stream sequence."""

    def __init__(self, bus: Bus) -> None:
        self.feed = tagfeed.TagFeed(bus, self.on_msg)
        self.read: list[tuple[str, int]] = []
        self.handled: list[tuple[int, Msg]] = []
        """The generation and message of each one handled."""

    async def on_msg(self, generation: int, msg: Msg) -> None:
        if not self.feed.fresh(generation, msg):
            return
        self.feed.seq = msg.metadata.sequence.stream
        path = telemetry_pb2.TagSampleBatch.FromString(msg.data).samples[0].path
        self.read.append((".".join(path.split("/")[-2:]), self.feed.seq))
        self.handled.append((generation, msg))

    def sequences(self) -> list[int]:
        return [seq for _, seq in self.read]


async def test_a_feed_follows_new_machines_from_after_the_last_message_read(bus: Bus) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    temp, pressure = "s/a/l/m1/temp", "s/a/l/m2/pressure"
    await publish_value(bus, temp, 1.0)  # before the feed: not read
    await _stored(bus, 1)
    reader = Reader(bus)
    only_temp = tagfeed.filters([temp], bus.nc.max_payload)
    assert await reader.feed.follow(only_temp)
    assert reader.feed.seq == 1, "a fresh feed starts at the stream's last sequence"
    assert not await reader.feed.follow(only_temp), "the same machines: the same consumer"
    await publish_value(bus, pressure, 5.0)  # not followed yet
    await publish_value(bus, temp, 2.0)
    await wait_until(lambda: reader.read == [("m1.temp", 3)], message="the followed tag")
    await publish_value(bus, pressure, 6.0)  # after the last message read: read once wider
    await _stored(bus, 4)
    assert await reader.feed.follow(tagfeed.filters([temp, pressure], bus.nc.max_payload))
    await publish_value(bus, temp, 3.0)
    await wait_until(lambda: reader.sequences()[-1] == 5, message="the sample before the change")
    assert reader.read == [("m1.temp", 3), ("m2.pressure", 4), ("m1.temp", 5)]


async def test_a_stopped_feed_reads_on_from_its_sequence_and_ignores_old_messages(
    bus: Bus,
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    temp = "s/a/l/m1/temp"
    reader = Reader(bus)
    wanted = tagfeed.filters([temp], bus.nc.max_payload)
    await reader.feed.follow(wanted)
    await publish_value(bus, temp, 1.0)
    await wait_until(lambda: reader.read, message="the first sample")
    await reader.feed.stop()
    assert (reader.feed.sub, reader.feed.subjects) == (None, [])
    await publish_value(bus, temp, 2.0)  # while stopped
    await publish_value(bus, temp, 3.0)
    await _stored(bus, 3)
    assert await reader.feed.follow(wanted)
    await wait_until(lambda: reader.sequences()[-1] == 3, message="what came while stopped")
    assert reader.sequences() == [1, 2, 3]
    generation, second = reader.handled[1]
    assert not reader.feed.fresh(generation, second), "read already"

    await reader.feed.stop()
    reader.feed.seq = 1  # a restored state that includes sequence 1 only: read again after
    assert not reader.feed.fresh(generation, second), "queued by a consumer that ended"
    assert reader.feed.fresh(reader.feed.generation, second)
    await reader.feed.follow(wanted)
    await wait_until(lambda: len(reader.read) == 5, message="the stream read again")
    assert reader.sequences() == [1, 2, 3, 2, 3]
    assert await reader.feed.follow([]), "no tags: nothing read"
    assert reader.feed.sub is None
