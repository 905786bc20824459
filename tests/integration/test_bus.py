"""Typed protobuf round-trips and trace context through a real nats-server."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.kit import subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import TYPE_HEADER, Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2


async def test_typed_round_trip_keeps_every_field(bus: Bus) -> None:
    got: asyncio.Queue[tuple[str, Message]] = asyncio.Queue()

    async def handler(subject: str, msg: Message, raw: Msg) -> None:
        await got.put((subject, msg))

    subject = subjects.telemetry("s1", "a1", "l1", "m1", "temp")
    await bus.subscribe("plantbus.v1.telemetry.>", handler)
    sample = telemetry_pb2.TagSample(path="s1/a1/l1/m1/temp", unit="degC", sequence=7)
    sample.value.double_value = 21.5
    sample.quality = telemetry_pb2.QUALITY_GOOD
    batch = telemetry_pb2.TagSampleBatch(samples=[sample], device="plc1")
    await bus.publish(subject, batch)
    recv_subject, msg = await asyncio.wait_for(got.get(), 5)
    assert recv_subject == subject
    assert isinstance(msg, telemetry_pb2.TagSampleBatch)
    assert msg == batch


async def test_undecodable_payload_is_dropped_and_counted(bus: Bus) -> None:
    got: asyncio.Queue[Message] = asyncio.Queue()

    async def handler(subject: str, msg: Message, raw: Msg) -> None:
        await got.put(msg)

    await bus.subscribe("x.>", handler)
    await bus.nc.publish("x.bad", b"\xff\xff", headers={TYPE_HEADER: "plantbus.v1.TagSample"})
    await bus.nc.publish("x.none", b"")
    good = telemetry_pb2.TagSample(path="ok")
    await bus.publish("x.good", good)
    assert await asyncio.wait_for(got.get(), 5) == good
    assert bus.counters.errors == 2


async def test_trace_context_crosses_nats(bus: Bus) -> None:
    otel.configure("test", "t1")
    seen: asyncio.Queue[tuple[str, int]] = asyncio.Queue()

    async def handler(subject: str, msg: Message, raw: Msg) -> None:
        carried: dict[str, str] = {}  # what the handler would publish carries on the trace
        otel.inject(carried)
        trace_id = int(carried.get("traceparent", "00-0-").split("-")[1], 16)
        await seen.put((raw.headers.get("traceparent", "") if raw.headers else "", trace_id))

    await bus.subscribe("trace.test", handler)
    with otel.tracer("test").start_as_current_span("publisher") as span:
        await bus.publish("trace.test", telemetry_pb2.TagSample(path="p"))
        sent_trace = span.get_span_context().trace_id
    traceparent, received_trace = await asyncio.wait_for(seen.get(), 5)
    assert f"{sent_trace:032x}" in traceparent
    assert received_trace == sent_trace


async def test_reconnect_after_nats_restart_is_counted(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await connect(NatsSettings(url=nats_server.url))
    try:
        nats_server.kill()
        await wait_until(lambda: bus.counters.disconnects == 1, message="disconnect seen")
        await wait_until(lambda: bus.counters.errors >= 2, message="reconnect attempts fail")
        await asyncio.to_thread(nats_server.restart)
        await wait_until(lambda: bus.counters.reconnects == 1, timeout=20, message="reconnect")
        # one warning for the outage, not one per failed reconnect attempt
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert [w for w in warnings if "NATS" in w] == [
            f"NATS disconnected from {nats_server.url}; reconnecting"
        ], warnings
        got: asyncio.Queue[Message] = asyncio.Queue()

        async def handler(subject: str, msg: Message, raw: Msg) -> None:
            await got.put(msg)

        await bus.subscribe("after.restart", handler)
        await bus.publish("after.restart", telemetry_pb2.TagSample(path="back"))
        assert (await asyncio.wait_for(got.get(), 5)) == telemetry_pb2.TagSample(path="back")
    finally:
        await bus.close()
