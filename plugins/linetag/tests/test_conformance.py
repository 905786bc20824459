"""The linetag driver passes the Plantbus driver conformance kit against its own server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from plantbus.sdk.driver import DataType, TagRef
from plantbus.sdk.errors import DriverConfigError
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance

from plantbus_linetag.driver import LineTagDriver, LineTagSettings
from plantbus_linetag.server import LineTagServer


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


def test_an_endpoint_of_another_scheme_is_refused_with_the_right_form() -> None:
    with pytest.raises(DriverConfigError, match="use linetag://host:port"):
        LineTagDriver("tcp://127.0.0.1:1", LineTagSettings())
