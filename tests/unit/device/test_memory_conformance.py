"""The in-memory driver passes the same conformance kit as protocol drivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from plantbus.sdk.driver import DataType, TagRef
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver


@dataclass
class MemoryServer:
    """Stopping a memory device means marking it down."""

    endpoint: str
    state: MemoryDevice

    async def stop(self) -> None:
        self.state.down = True

    async def start(self) -> None:
        self.state.down = False


class TestMemoryDriver(DriverConformance):
    driver_class = MemoryDriver
    good_tags = (
        TagRef("count", "c", DataType.UINT32),
        TagRef("temp", "t", DataType.FLOAT32),
        TagRef("on", "o", DataType.BOOL),
    )
    illegal_tag = TagRef("ghost", "missing-1", DataType.UINT16)
    write_tag = TagRef("speed", "s", DataType.UINT16, writable=True)
    write_value = 1200

    @pytest.fixture
    async def conformance_server(
        self, request: pytest.FixtureRequest
    ) -> AsyncIterator[ConformanceServer]:
        endpoint = f"memory://kit-{request.node.name}"
        yield MemoryServer(endpoint, MemoryDriver.devices.setdefault(endpoint, MemoryDevice()))
        MemoryDriver.devices.pop(endpoint, None)
