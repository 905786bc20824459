"""The OPC UA driver passes the Plantbus driver conformance kit."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from plantbus_opcua.driver import OpcUaDriver

from plantbus.sdk.driver import DataType, TagRef
from plantbus.sim.model import line
from plantbus.sim.opcua_server import serve_opcua
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance
from plantbus.testing.ports import free_port


class RestartableOpcUa:
    """The simulated line's OPC UA server, restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(serve_opcua(line(), time.monotonic, port=self.port))

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


class TestOpcUaDriver(DriverConformance):
    driver_class = OpcUaDriver
    settings: dict[str, Any] = {"timeout_s": 2.0}
    good_tags = (
        TagRef("temp", "ns=2;s=Line1.M1.Temperature", DataType.FLOAT64),
        TagRef("state", "ns=2;s=Line1.M2.State", DataType.UINT16),
    )
    illegal_tag = TagRef("ghost", "ns=2;s=Line1.M7.Nothing", DataType.FLOAT64)
    write_tag = TagRef("speed", "ns=2;s=Line1.M1.SpeedSetpoint", DataType.UINT16, writable=True)
    write_value = 1234

    @pytest.fixture
    async def conformance_server(self) -> AsyncIterator[ConformanceServer]:
        server = RestartableOpcUa()
        await server.start()
        yield server
        await server.stop()
