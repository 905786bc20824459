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
    await streams.ensure_stream(bus, streams.TELEMETRY)
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
    info = await bus.js.stream_info(streams.TELEMETRY.name)
    assert info.state.messages == 3 * len(TAGS), "the cycle sent twice was stored twice"
    assert counters.samples_lost == 0
