"""The JSON namespace and the hub's subjects through nats-server's MQTT listener, read by
MQTT clients the project did not write: a fresh subscriber gets each tag's retained last
value, then its changes; only the opted-in subtree is published; nobody gets in without a
hub user, and the readers cannot write into the hub's subjects nor the namespace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from plantbus.config import PlantConfig
from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.kit.codec import timestamp
from plantbus.kit.natsauth import IT_READER, MQTT_READER
from plantbus.kit.service import ServiceContext
from plantbus.testing.waiting import wait_until
from plantbus.uns.service import UnsService
from plantbus.v1 import alerting_pb2, oee_pb2, service_pb2, telemetry_pb2
from tests.integration.uns.conftest import (
    PLANT,
    Audit,
    Listener,
    Paho,
    mosquitto,
    needs_mosquitto,
)

M1 = "demo/machining/line1/m1"
TEMP = f"{M1}/temp"


def batch(path: str, value: float, at: float = 1_700_000_000.0) -> telemetry_pb2.TagSampleBatch:
    return telemetry_pb2.TagSampleBatch(
        device="plc1",
        samples=[
            telemetry_pb2.TagSample(
                path=path,
                value=telemetry_pb2.TagValue(double_value=value),
                unit="degC",
                source_time=timestamp(at),
                quality=telemetry_pb2.QUALITY_GOOD,
            )
        ],
    )


async def send(bus: Bus, path: str, value: float, at: float = 1_700_000_000.0) -> None:
    """As the device service does: on the tag's subject, and its cycle on the device's."""
    message = batch(path, value, at)
    await bus.publish(subjects.telemetry_of(path), message)
    await bus.publish(subjects.cycle(path.rpartition("/")[0], message.device), message)
    await bus.nc.flush()


async def published(uns: UnsService, count: int) -> None:
    await wait_until(lambda: uns.mqtt.counters.published >= count, message=f"{count} published")


@needs_mosquitto
async def test_a_fresh_mosquitto_sub_reads_the_retained_namespace_of_the_opted_in_subtree(
    listener: Listener, uns: UnsService
) -> None:
    device, oee, alerting = [await listener.bus(u) for u in ("device", "oee", "alerting")]
    try:
        await send(device, TEMP, 21.5)
        await send(device, "demo/machining/line1/m2/temp", 99.0)  # m2 is not opted in
        await oee.publish(
            subjects.oee("demo", "machining", "line1", "m1"),
            oee_pb2.OeeSnapshot(scope=M1, time=timestamp(1_700_000_060), total_count=12, oee=0.5),
        )
        await oee.publish(
            subjects.downtime("demo", "machining", "line1", "m1"),
            oee_pb2.DowntimeEvent(id="d1", machine=M1, start=timestamp(1_700_000_000)),
        )
        await alerting.publish(
            subjects.alarm("demo", "machining", "line1", "m1", "hot"),
            alerting_pb2.AlarmEvent(
                id=f"hot@{M1}",
                rule="hot",
                scope=M1,
                state="unacknowledged",
                active=True,
                time=timestamp(1_700_000_030),
            ),
        )
        await published(uns, 4)
    finally:
        for bus in (device, oee, alerting):
            await bus.close()

    code, out, err = await mosquitto(
        "mosquitto_sub", *listener.mosquitto(MQTT_READER), "-t", "uns/#", "-v",
        "--retained-only", "-W", "3",
    )  # fmt: skip
    assert code == 27, err  # 27: the -W timeout, after every retained message arrived
    got = dict(line.split(" ", 1) for line in out.splitlines())
    assert set(got) == {
        f"uns/{TEMP}",
        f"uns/{M1}/_oee",
        f"uns/{M1}/_downtime",
        f"uns/{M1}/_alarms/hot",
    }
    assert json.loads(got[f"uns/{TEMP}"]) == {
        "timestamp_ms": 1_700_000_000_000,
        "value": 21.5,
        "quality": "good",
        "unit": "degC",
    }
    snapshot = json.loads(got[f"uns/{M1}/_oee"])
    assert snapshot["timestamp_ms"] == 1_700_000_060_000
    assert (snapshot["scope"], snapshot["total_count"], snapshot["oee"]) == (M1, 12, 0.5)
    assert json.loads(got[f"uns/{M1}/_downtime"])["kind"] == "unspecified"
    alarm = json.loads(got[f"uns/{M1}/_alarms/hot"])
    assert (alarm["state"], alarm["active"], alarm["time_ms"]) == (
        "unacknowledged",
        True,
        1_700_000_030_000,
    )


async def test_paho_gets_the_retained_value_then_every_change(
    listener: Listener, uns: UnsService
) -> None:
    device = await listener.bus("device")
    client = Paho(listener, MQTT_READER)
    try:
        await send(device, TEMP, 1.0)
        await published(uns, 1)
        assert not (await client.connect()).is_failure
        client.client.subscribe(f"uns/{TEMP}", qos=1)
        await wait_until(lambda: client.messages, message="the retained value")
        await send(device, TEMP, 2.0, at=1_700_000_001.0)
        await wait_until(lambda: len(client.messages) == 2, message="the change")
    finally:
        client.close()
        await device.close()
    first, change = client.messages
    assert first.retain and json.loads(first.payload)["value"] == 1.0
    assert not change.retain
    assert json.loads(change.payload) == {
        "timestamp_ms": 1_700_000_001_000, "value": 2.0, "quality": "good", "unit": "degC"
    }  # fmt: skip


@needs_mosquitto
async def test_anonymous_and_wrong_password_mqtt_clients_are_refused(listener: Listener) -> None:
    code, _, err = await mosquitto("mosquitto_sub", *listener.mosquitto(None), "-t", "uns/#")
    assert code != 0 and "not authorised" in err.lower(), err
    wrong = Paho(listener, MQTT_READER, password="not-the-password")
    anonymous = Paho(listener, None)
    try:
        assert (await wrong.connect()).is_failure
        assert (await anonymous.connect()).is_failure
    finally:
        wrong.close()
        anonymous.close()


@needs_mosquitto
async def test_the_readers_cannot_publish_into_the_hub_nor_the_namespace(
    listener: Listener, uns: UnsService
) -> None:
    device = await listener.bus("device")
    hub, namespace = await listener.bus("operator"), await listener.bus(MQTT_READER)
    seen: list[str] = []

    async def record(msg: Any) -> None:
        seen.append(msg.subject)

    await hub.nc.subscribe("plantbus.v1.>", cb=record)
    await namespace.nc.subscribe("uns.>", cb=record)
    await hub.nc.flush()
    await namespace.nc.flush()
    await send(device, TEMP, 21.5)
    await published(uns, 1)
    await wait_until(lambda: len(seen) == 3, message="the genuine sample, its cycle, its JSON")
    seen.clear()
    forged = [
        (IT_READER, f"plantbus/v1/telemetry/{TEMP}"),
        (IT_READER, f"uns/{TEMP}"),
        (MQTT_READER, f"uns/{TEMP}"),
        (MQTT_READER, "plantbus/v1/svc/device/local"),
    ]
    try:
        for user, topic in forged:
            await mosquitto(
                "mosquitto_pub", *listener.mosquitto(user), "-t", topic, "-m", "forged", "-r",
                "-q", "1",
            )  # fmt: skip
        violations = [f'Publish Violation - Subject "{t.replace("/", ".")}"' for _, t in forged]
        await wait_until(
            lambda: all(v in listener.log.read_text() for v in violations),
            message="the server refused every forged publish",
        )
        code, out, _ = await mosquitto(
            "mosquitto_sub", *listener.mosquitto(MQTT_READER), "-t", f"uns/{TEMP}", "-C", "1",
            "-W", "10",
        )  # fmt: skip
    finally:
        for bus in (device, hub, namespace):
            await bus.close()
    assert code == 0 and json.loads(out)["value"] == 21.5  # still the genuine retained value
    assert seen == []


async def test_the_hubs_own_subjects_are_readable_over_mqtt_without_their_headers(
    listener: Listener,
) -> None:
    device = await listener.bus("device")
    it = Paho(listener, IT_READER)
    narrow = Paho(listener, MQTT_READER)
    try:
        await it.connect()
        await narrow.connect()
        it.client.subscribe("plantbus/v1/telemetry/#", qos=0)
        narrow.client.subscribe("plantbus/v1/telemetry/#", qos=0)
        await wait_until(lambda: it.granted and narrow.granted, message="both SUBACKs")
        await send(device, TEMP, 7.0)
        await wait_until(lambda: it.messages, message="the sample over MQTT")
    finally:
        it.close()
        narrow.close()
        await device.close()
    (msg,) = it.messages
    assert msg.topic == f"plantbus/v1/telemetry/{TEMP}"
    decoded = telemetry_pb2.TagSampleBatch.FromString(msg.payload)  # the type: from the topic
    assert decoded.samples[0].value.double_value == 7.0
    assert not it.granted[0].is_failure
    assert narrow.granted[0].is_failure and not narrow.messages  # mqtt-reader: uns/# only


async def test_a_refused_mqtt_login_is_audited_once_and_reported_in_health(
    listener: Listener, audit: Audit, tmp_path: Path
) -> None:
    bus = await listener.bus("uns")
    bus.settings = bus.settings.model_copy(update={"password": SecretStr("wrong")})
    options = {"mqtt_url": f"mqtt://127.0.0.1:{listener.mqtt_port}"}
    svc = UnsService(ServiceContext("uns", "t2", bus, tmp_path, audit, options))
    try:
        await svc.start()
        await wait_until(lambda: audit.actions("uns.mqtt_connect"), message="the audit record")
        serving, detail = svc.health()
    finally:
        await svc.stop()
        await bus.close()
    (record,) = audit.actions("uns.mqtt_connect")
    assert record["outcome"] == service_pb2.AUDIT_OUTCOME_FAILED
    assert not serving and "refused" in detail and "wrong" not in detail


async def test_what_is_published_is_audited_when_it_changes(uns: UnsService, audit: Audit) -> None:
    (first,) = audit.actions("uns.publish")
    assert (first["target"], first["detail"]) == ("uns", f"config version 1: {M1}")
    await uns.apply_config(PlantConfig.model_validate(PLANT), 2)  # the same subtrees
    changed = {**PLANT, "uns": {"prefix": "uns/acme", "publish": []}}
    await uns.apply_config(PlantConfig.model_validate(changed), 3)
    assert [(r["target"], r["detail"]) for r in audit.actions("uns.publish")][1:] == [
        ("uns/acme", "config version 3: nothing")
    ]


async def test_a_nats_publish_is_not_retained_which_is_why_uns_publishes_over_mqtt(
    listener: Listener, uns: UnsService
) -> None:
    bus = await listener.bus("uns")  # the uns user may publish uns.> on NATS as well
    client = Paho(listener, MQTT_READER)
    try:
        await bus.nc.publish("uns.demo.machining.line1.m1.via_nats", b'{"value": 1}')
        await bus.nc.flush()
        uns.mqtt.publish("uns/demo/machining/line1/m1/via_mqtt", b'{"value": 2}')
        await published(uns, 1)
        await client.connect()
        client.client.subscribe("uns/#", qos=1)
        await wait_until(lambda: client.messages, message="the retained message")
    finally:
        client.close()
        await bus.close()
    assert [m.topic for m in client.messages] == ["uns/demo/machining/line1/m1/via_mqtt"]
