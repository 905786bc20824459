"""The Modbus driver passes the Plantbus driver conformance kit."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from plantbus_modbus.driver import ModbusDriver
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from plantbus.sdk.driver import DataType, TagRef
from plantbus.sim.server import serve_device
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance


class RestartableModbus:
    """A pymodbus server that stops and starts again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def endpoint(self) -> str:
        return f"modbus://127.0.0.1:{self.port}"

    async def start(self) -> None:
        regs = [SimData(0, count=100, values=5, datatype=SimType.REGISTERS)]
        bits = [SimData(0, count=16, values=True, datatype=SimType.BITS)]
        self._stack = contextlib.AsyncExitStack()
        self.port = await self._stack.enter_async_context(
            serve_device(SimDevice(1, simdata=(bits, bits, regs, regs)), port=self.port)
        )

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


class TestModbusDriver(DriverConformance):
    driver_class = ModbusDriver
    settings: dict[str, Any] = {"timeout_s": 2.0}
    good_tags = (
        TagRef("count", "holding:1", DataType.UINT16),
        TagRef("total", "holding:10", DataType.UINT32),
        TagRef("flag", "coil:2", DataType.BOOL),
        TagRef("input", "input:4", DataType.INT16),
    )
    illegal_tag = TagRef("beyond", "holding:500", DataType.UINT16)
    write_tag = TagRef("count", "holding:1", DataType.UINT16, writable=True)
    write_value = 4242

    @pytest.fixture
    async def conformance_server(self) -> AsyncIterator[ConformanceServer]:
        server = RestartableModbus()
        await server.start()
        yield server
        await server.stop()
