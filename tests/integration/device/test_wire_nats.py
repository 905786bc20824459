"""The device service's hand-framed publishes (:mod:`plantbus.device.wire`) on a real
nats-server: a cycle stored as one message with the Plantbus-Type and Nats-Msg-Id headers,
once however often it is sent, and each sample live on its tag's subject, in order.
Breaks if a nats-py release changes what :func:`plantbus.device.wire.write` relies on."""

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


async def test_a_cycle_is_stored_once_as_one_message_and_each_sample_goes_out_live(
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
    await publisher.publish(records, counters)  # sent again, as after a lost ack
    await wait_until(lambda: len(per_tag) == 4 * len(TAGS) and len(per_cycle) == 4)
    await publisher.stop()

    msg = per_tag[len(TAGS) + 7]
    assert msg.subject == "plantbus.v1.telemetry.s.a.l.m1.t7"
    assert msg.headers == {
        TYPE_HEADER: "plantbus.v1.TagSampleBatch",
        "Nats-Msg-Id": "ep:s/a/l/m1/t7:2",
        "traceparent": trace,
    }
    one = telemetry_pb2.TagSampleBatch.FromString(msg.data)
    assert one.device == "plc" and one.samples[0].value.int_value == 107

    assert {m.subject for m in per_cycle} == {"plantbus.v1.cycle.s.a.l.m1.plc"}
    assert per_cycle[1].headers == {
        TYPE_HEADER: "plantbus.v1.TagSampleBatch",
        "Nats-Msg-Id": "ep:s/a/l/m1/t0:2",  # its first sample's
        "traceparent": trace,
    }
    cycles = [telemetry_pb2.TagSampleBatch.FromString(m.data) for m in per_cycle]
    assert {c.device for c in cycles} == {"plc"}
    tags = [telemetry_pb2.TagSampleBatch.FromString(m.data).samples[0] for m in per_tag]
    assert [s for c in cycles for s in c.samples] == tags  # the same samples, in order
    info = await bus.js.stream_info(streams.CYCLES.name)
    assert info.state.messages == 3, "one message per cycle; the one sent twice stored once"
    assert counters.samples_lost == 0


async def test_per_tag_records_an_earlier_release_spooled_are_stored_as_cycles(
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
    assert [(s.path, s.sequence) for s in by_device["plantbus.v1.cycle.s.a.l.m1.plc"]] == [
        (f"s/a/l/m1/{t.name}", cycle + 1) for cycle in range(2) for t in TAGS
    ]
    assert [(s.path, s.sequence) for s in by_device["plantbus.v1.cycle.s.a.l.m2.plc-2"]] == [
        (f"s/a/l/m2/{t.name}", cycle + 1) for cycle in range(2) for t in TAGS[:5]
    ]
    info = await bus.js.stream_info(streams.CYCLES.name)
    assert info.state.messages == 2, "the segment's samples stored as one batch per device"
