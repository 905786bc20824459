"""The OPC UA driver passes the Plantbus driver conformance kit, with its default security:
the strongest policy the server offers, signed and encrypted, the server's certificate in
the trust list of the data dir."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from plantbus_opcua.driver import OpcUaDriver

from plantbus.sdk.certificates import TrustList
from plantbus.sdk.driver import DataType, Driver, DriverContext, TagRef
from plantbus.sim.certificate import sim_certificate
from plantbus.sim.model import line
from plantbus.sim.opcua_server import serve_opcua
from plantbus.testing.driver_kit import ConformanceServer, DriverConformance
from plantbus.testing.ports import free_port


class RestartableOpcUa:
    """The simulated line's OPC UA server, restartable on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.certificate, self.key = sim_certificate(data_dir)
        self._stack: contextlib.AsyncExitStack | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(
            serve_opcua(
                line(),
                time.monotonic,
                port=self.port,
                certificate=self.certificate,
                private_key=self.key,
            )
        )

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

    data_dir: Path

    @pytest.fixture
    async def conformance_server(self, tmp_path: Path) -> AsyncIterator[ConformanceServer]:
        server = RestartableOpcUa(tmp_path / "server")
        self.data_dir = tmp_path / "hub"
        TrustList.of(self.data_dir, "opcua").add(server.certificate.read_bytes())
        await server.start()
        yield server
        await server.stop()

    def make_driver(self, endpoint: str) -> Driver:
        """As the device service builds it: with the hub's data dir in its context."""
        driver = super().make_driver(endpoint)
        driver.context = DriverContext("conformance", self.data_dir)
        return driver
