"""The linetag driver passes the Plantbus driver conformance kit against its own server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from plantbus_driver_template.driver import LineTagDriver
from plantbus_driver_template.server import LineTagServer

from plantbus.sdk.driver import DataType, TagRef
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance


class TestLineTagDriver(DriverConformance):
    driver_class = LineTagDriver
    settings = {"timeout_s": 2.0}
    good_tags = (
        TagRef("speed", "speed", DataType.INT32),
        TagRef("temperature", "temperature", DataType.FLOAT64),
        TagRef("running", "running", DataType.BOOL),
        TagRef("label", "label", DataType.STRING),
    )
    illegal_tag = TagRef("nope", "no_such_tag", DataType.INT32)
    write_tag = TagRef("speed", "speed", DataType.INT32, writable=True)
    write_value = 1500

    @pytest.fixture
    async def conformance_server(self) -> AsyncIterator[ConformanceServer]:
        server = LineTagServer()
        await server.start()
        yield server
        await server.stop()


async def test_type_mismatch_is_bad_with_the_reason() -> None:
    server = LineTagServer({"label": "hello"})
    await server.start()
    driver = LineTagDriver(server.endpoint, LineTagDriver.Settings())
    await driver.connect()
    (reading,) = await driver.read([TagRef("label", "label", DataType.INT16)])
    await driver.close()
    await server.stop()
    assert reading.value is None and "'hello' is not int16" in reading.reason


def test_probe_addresses_carry_a_type() -> None:
    assert LineTagDriver.tag_from_address("speed:int32").data_type == DataType.INT32
    assert LineTagDriver.tag_from_address("speed").data_type == DataType.FLOAT64
