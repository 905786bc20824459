"""The device service's hand-framed publishes (:mod:`plantbus.device.wire`) on a real
nats-server: one message per tag subject with the Plantbus-Type and Nats-Msg-Id headers,
in order, stored once however often a cycle is sent. Breaks if a nats-py release
changes what :func:`plantbus.device.wire.write` relies on."""

from __future__ import annotations

from pathlib import Path

from nats.aio.msg import Msg

from plantbus.config.devices import Tag
from plantbus.device.publisher import TelemetryPublisher
from plantbus.device.samples import SampleFilter
from plantbus.device.spool import Spool
from plantbus.kit import streams
from plantbus.kit.bus import TYPE_HEADER, Bus
from plantbus.sdk.driver import Reading
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, telemetry_pb2

TAGS = [Tag(name=f"t{i}", address=f"a{i}", data_type="uint32") for i in range(50)]


async def test_a_cycle_arrives_as_one_message_per_tag_with_headers_and_once(
    bus: Bus, tmp_path: Path
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    received: list[Msg] = []

    async def on_msg(msg: Msg) -> None:
        received.append(msg)

    await bus.nc.subscribe("plantbus.v1.telemetry.>", cb=on_msg)
    publisher = TelemetryPublisher(bus, Spool(tmp_path / "spool"))
    await publisher.start()
    samples = SampleFilter("s/a/l/m1", TAGS, device="plc", epoch="ep")
    counters = device_pb2.DeviceCounters()
    for cycle in range(3):
        readings = [Reading(t.name, cycle * 100 + i) for i, t in enumerate(TAGS)]
        records = [r for r in (samples.accept(x, now=cycle) for x in readings) if r]
        await publisher.publish(records, counters)
    await publisher.publish(records, counters)  # sent again, as after a lost ack
    await wait_until(lambda: len(received) == 4 * len(TAGS), message="every message")
    await publisher.stop()

    msg = received[len(TAGS) + 7]
    batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
    assert msg.subject == "plantbus.v1.telemetry.s.a.l.m1.t7"
    assert msg.headers == {
        TYPE_HEADER: "plantbus.v1.TagSampleBatch",
        "Nats-Msg-Id": "ep:s/a/l/m1/t7:2",
    }
    assert batch.device == "plc" and batch.samples[0].value.int_value == 107
    last = received[len(TAGS) - 1]  # a cycle's last message goes out with publish_async
    assert last.headers == {
        TYPE_HEADER: "plantbus.v1.TagSampleBatch",
        "Nats-Msg-Id": "ep:s/a/l/m1/t49:1",
    }
    in_order = [telemetry_pb2.TagSampleBatch.FromString(m.data).samples[0] for m in received]
    assert [(s.path, s.sequence) for s in in_order[: 2 * len(TAGS)]] == [
        (f"s/a/l/m1/t{i}", cycle + 1) for cycle in range(2) for i in range(len(TAGS))
    ]
    info = await bus.js.stream_info(streams.CYCLES.name)
    assert info.state.messages == 3 * len(TAGS), "the cycle sent twice was stored twice"
    assert counters.samples_lost == 0


async def test_a_cycle_goes_out_once_more_on_its_device_cycle_subject_unstored(
    bus: Bus, tmp_path: Path
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    per_tag: list[Msg] = []
    per_cycle: list[Msg] = []

    async def on_tag(msg: Msg) -> None:
        per_tag.append(msg)

    async def on_cycle(msg: Msg) -> None:
        per_cycle.append(msg)

    await bus.nc.subscribe("plantbus.v1.telemetry.>", cb=on_tag)
    await bus.nc.subscribe("plantbus.v1.cycle.>", cb=on_cycle)
    publisher = TelemetryPublisher(bus, Spool(tmp_path / "spool"))
    await publisher.start()
    samples = SampleFilter("s/a/l/m1", TAGS, device="plc", epoch="ep")
    counters = device_pb2.DeviceCounters()
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    for cycle in range(3):
        readings = [Reading(t.name, cycle * 100 + i) for i, t in enumerate(TAGS)]
        records = [r for r in (samples.accept(x, now=cycle) for x in readings) if r]
        await publisher.publish(records, counters, trace)
    await wait_until(lambda: len(per_tag) == 3 * len(TAGS) and len(per_cycle) == 3)
    await publisher.stop()

    assert {m.subject for m in per_cycle} == {"plantbus.v1.cycle.plc"}
    assert per_cycle[0].headers == {TYPE_HEADER: "plantbus.v1.TagSampleBatch", "traceparent": trace}
    cycles = [telemetry_pb2.TagSampleBatch.FromString(m.data) for m in per_cycle]
    assert {c.device for c in cycles} == {"plc"}
    tags = [telemetry_pb2.TagSampleBatch.FromString(m.data).samples[0] for m in per_tag]
    assert [s for c in cycles for s in c.samples] == tags  # the same samples, in order
    info = await bus.js.stream_info(streams.CYCLES.name)
    assert info.state.messages == 3 * len(TAGS)  # the cycle subject is not stored


async def test_samples_replayed_from_the_spool_reach_the_cycle_subject_too(
    bus: Bus, tmp_path: Path
) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    spool = Spool(tmp_path / "spool")  # what a run cut off from NATS left behind
    first = SampleFilter("s/a/l/m1", TAGS, device="plc", epoch="ep")
    second = SampleFilter("s/a/l/m2", TAGS[:5], device="plc-2", epoch="ep")
    for cycle in range(2):
        for samples, tags in ((first, TAGS), (second, TAGS[:5])):
            spool.extend([r for t in tags if (r := samples.accept(Reading(t.name, cycle), cycle))])
    per_cycle: list[Msg] = []

    async def on_cycle(msg: Msg) -> None:
        per_cycle.append(msg)

    await bus.nc.subscribe("plantbus.v1.cycle.>", cb=on_cycle)
    publisher = TelemetryPublisher(bus, spool)
    await publisher.start()
    await wait_until(lambda: len(spool) == 0 and len(per_cycle) == 2, message="spool replayed")
    await publisher.stop()

    by_device = {
        m.subject: telemetry_pb2.TagSampleBatch.FromString(m.data).samples for m in per_cycle
    }
    assert [(s.path, s.sequence) for s in by_device["plantbus.v1.cycle.plc"]] == [
        (f"s/a/l/m1/{t.name}", cycle + 1) for cycle in range(2) for t in TAGS
    ]
    assert [(s.path, s.sequence) for s in by_device["plantbus.v1.cycle.plc-2"]] == [
        (f"s/a/l/m2/{t.name}", cycle + 1) for cycle in range(2) for t in TAGS[:5]
    ]
