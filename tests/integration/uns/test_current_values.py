"""A tag that does not change (a setpoint) is published by its device only every
``refresh_s``: the uns service reads the current values of a subtree back from the
telemetry stream when it starts publishing it, so its retained topics are there at once,
not a refresh later."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from plantbus.config import PlantConfig
from plantbus.kit import streams
from plantbus.kit.codec import timestamp
from plantbus.kit.natsauth import MQTT_READER
from plantbus.testing.messages import store_samples
from plantbus.testing.waiting import wait_until
from plantbus.uns.service import UnsService
from plantbus.v1 import telemetry_pb2
from tests.integration.uns.conftest import PLANT, Listener, mosquitto, needs_mosquitto

pytestmark = needs_mosquitto
SETPOINT = "demo/machining/line1/m1/speed_setpoint"
OTHER = "demo/machining/line1/m2/speed_setpoint"


def sample(path: str, value: float, at: float) -> telemetry_pb2.TagSample:
    return telemetry_pb2.TagSample(
        path=path,
        value=telemetry_pb2.TagValue(double_value=value),
        source_time=timestamp(at),
        quality=telemetry_pb2.QUALITY_GOOD,
    )


@pytest.fixture
async def stored(listener: Listener) -> AsyncIterator[None]:
    """Cycles the device service stored before the uns service had its config: m1's
    setpoint twice (the later one is current) and m2's, which is not opted in."""
    device = await listener.bus("device")
    try:
        await streams.ensure_stream(device, streams.CYCLES)
        await store_samples(device, sample(SETPOINT, 100.0, 1_700_000_000))
        await store_samples(device, sample(SETPOINT, 120.0, 1_700_000_001))
        await store_samples(device, sample(OTHER, 80.0, 1_700_000_000))
        yield
    finally:
        await device.close()


async def retained(listener: Listener) -> dict[str, dict[str, object]]:
    code, out, err = await mosquitto(
        "mosquitto_sub", *listener.mosquitto(MQTT_READER), "-t", "uns/#", "-v",
        "--retained-only", "-W", "3",
    )  # fmt: skip
    assert code == 27, err  # the -W timeout, after every retained message arrived
    lines = (line.split(" ", 1) for line in out.splitlines())
    return {topic: json.loads(text) for topic, text in lines}


async def test_the_current_values_of_an_opted_in_subtree_are_published_from_the_stream(
    listener: Listener, stored: None, uns: UnsService
) -> None:
    await wait_until(lambda: uns.mqtt.counters.published >= 1, message="current values published")
    got = await retained(listener)
    assert set(got) == {f"uns/{SETPOINT}"}  # m2 is not opted in
    assert got[f"uns/{SETPOINT}"]["value"] == 120.0  # the latest of the two

    # a version that opts m2 in publishes m2's current value, without a new sample; m1's
    # is on its topic already and is not published again
    opted = {**PLANT, "uns": {"publish": [{"path": "demo/machining/line1"}]}}
    await uns.apply_config(PlantConfig.model_validate(opted), 2)
    await wait_until(lambda: uns.mqtt.counters.published >= 2, message="m2's value published")
    got = await retained(listener)
    assert {t: v["value"] for t, v in got.items()} == {
        f"uns/{SETPOINT}": 120.0,
        f"uns/{OTHER}": 80.0,
    }
    assert uns.mqtt.counters.published == 2


async def test_a_version_applied_while_current_values_are_read_still_gets_them(
    listener: Listener, stored: None, uns: UnsService
) -> None:
    await wait_until(lambda: uns.mqtt.counters.published >= 1, message="m1's value published")
    opted = PlantConfig.model_validate({**PLANT, "uns": {"publish": [{"path": "demo/machining"}]}})
    await uns.apply_config(opted, 2)
    await uns.apply_config(opted, 3)  # the same subtrees, before version 2's reading ended
    await wait_until(lambda: uns.mqtt.counters.published >= 2, message="m2's value published")
    got = await retained(listener)
    assert got[f"uns/{OTHER}"]["value"] == 80.0
    assert uns.mqtt.counters.published == 2
