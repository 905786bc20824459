"""The driver conformance kit: one set of tests every driver plugin must pass.

A vendor subclasses :class:`DriverConformance` in a test module, names the driver
class, its settings and a few tags, and provides a ``conformance_server`` fixture that
yields something with ``endpoint``, ``stop()`` and ``start()`` (see
:class:`ConformanceServer`). The inherited tests then prove the driver keeps the
contract the device service relies on:

- ``read`` returns one reading per tag, in order, with a value exactly when GOOD;
- an illegal address makes that one tag BAD with a reason, the others stay GOOD;
- a written value reads back;
- while the server is down ``connect``/``read`` raise ``DeviceUnavailable`` (so the
  service marks the tags BAD and backs off) and after it restarts a fresh
  ``connect`` reads again;
- ``close`` is safe twice, before ``connect`` and after a failed ``connect``.

See docs/writing-a-driver.md for a walk-through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Protocol

import pytest

from plantbus.sdk.driver import Driver, Quality, Reading, Scalar, TagRef
from plantbus.sdk.errors import DeviceUnavailable

__all__ = ["ConformanceServer", "DriverConformance"]


class ConformanceServer(Protocol):
    """A device server the kit can stop and start again on the same endpoint."""

    @property
    def endpoint(self) -> str:
        """The URL a driver connects to."""
        ...

    async def stop(self) -> None:
        """Stop serving; open connections are dropped."""
        ...

    async def start(self) -> None:
        """Serve (again) on the same endpoint."""
        ...


class DriverConformance:
    """Base class of a driver's conformance tests; subclass it as ``TestMyDriver``."""

    driver_class: ClassVar[type[Driver]]
    """The driver under test."""
    settings: ClassVar[dict[str, Any]] = {}
    """Driver settings, validated with ``driver_class.Settings``."""
    good_tags: ClassVar[Sequence[TagRef]]
    """Tags that exist on the server and read GOOD."""
    illegal_tag: ClassVar[TagRef]
    """A tag whose address does not exist on the server."""
    write_tag: ClassVar[TagRef | None] = None
    """A writable tag, or None when the driver cannot write."""
    write_value: ClassVar[Scalar] = 0
    """A value to write to ``write_tag`` that differs from its current value."""
    call_timeout_s: ClassVar[float] = 10.0
    """How long one driver call may take before the kit calls it hung."""

    @pytest.fixture
    async def conformance_server(self) -> AsyncIterator[ConformanceServer]:
        """Override: start the server, yield it, stop it."""
        raise NotImplementedError("define a conformance_server fixture in your test class")
        yield  # pragma: no cover - makes this an async generator

    def make_driver(self, endpoint: str) -> Driver:
        """A fresh driver for ``endpoint``, built as the device service builds it."""
        return self.driver_class(endpoint, self.driver_class.Settings.model_validate(self.settings))

    @pytest.fixture
    async def driver(self, conformance_server: ConformanceServer) -> AsyncIterator[Driver]:
        """A connected driver, closed after the test."""
        driver = self.make_driver(conformance_server.endpoint)
        await self._call(driver.connect())
        try:
            yield driver
        finally:
            await self._call(driver.close())

    async def _call(self, coro: Any) -> Any:
        return await asyncio.wait_for(coro, self.call_timeout_s)

    async def _read(self, driver: Driver, tags: Sequence[TagRef]) -> list[Reading]:
        readings: list[Reading] = await self._call(driver.read(tags))
        assert [r.tag for r in readings] == [t.name for t in tags], "one reading per tag, in order"
        for r in readings:
            assert (r.value is None) == (r.quality == Quality.BAD), f"{r}: value iff not BAD"
        return readings

    def test_declares_manifest_settings_and_schemes(self) -> None:
        """The plugin loader and ``plantbus probe`` need these."""
        cls = self.driver_class
        assert cls.manifest.name and cls.manifest.version and cls.manifest.api_version
        assert cls.schemes, "declare the URL schemes plantbus probe dispatches on"
        cls.Settings.model_validate(self.settings)
        for tag in self.good_tags:
            cls.validate_tag(tag)

    async def test_reads_every_tag_good_and_in_order(self, driver: Driver) -> None:
        """A batch read answers every tag, GOOD, in the order asked."""
        readings = await self._read(driver, self.good_tags)
        bad = [r for r in readings if r.quality != Quality.GOOD]
        assert not bad, f"expected GOOD readings, got {bad}"

    async def test_illegal_address_is_bad_alone(self, driver: Driver) -> None:
        """One bad address never spoils the batch."""
        first, *rest = self.good_tags
        readings = await self._read(driver, [first, self.illegal_tag, *rest])
        assert readings[1].quality == Quality.BAD and readings[1].reason, readings[1]
        assert all(r.quality == Quality.GOOD for i, r in enumerate(readings) if i != 1), readings

    async def test_write_reads_back(self, driver: Driver) -> None:
        """What was written is what is read next."""
        if self.write_tag is None:
            pytest.skip("the driver declares no writable tag")
        await self._call(driver.write(self.write_tag, self.write_value))
        (reading,) = await self._read(driver, [self.write_tag])
        assert reading.quality == Quality.GOOD and reading.value == self.write_value, reading

    async def test_server_down_raises_device_unavailable_and_restart_recovers(
        self, conformance_server: ConformanceServer
    ) -> None:
        """The runtime's reconnect loop: DeviceUnavailable while down, fresh connect after."""
        driver = self.make_driver(conformance_server.endpoint)
        await self._call(driver.connect())
        await self._read(driver, self.good_tags)
        await conformance_server.stop()
        with pytest.raises(DeviceUnavailable):
            await self._call(driver.read(self.good_tags))
        await self._call(driver.close())
        with pytest.raises(DeviceUnavailable):
            await self._call(driver.connect())
        await self._call(driver.close())
        await conformance_server.start()
        await self._call(driver.connect())
        readings = await self._read(driver, self.good_tags)
        assert all(r.quality == Quality.GOOD for r in readings), readings
        await self._call(driver.close())

    async def test_close_is_idempotent(self, conformance_server: ConformanceServer) -> None:
        """close() before connect, twice, and after use never raises."""
        driver = self.make_driver(conformance_server.endpoint)
        await self._call(driver.close())
        await self._call(driver.connect())
        await self._call(driver.close())
        await self._call(driver.close())
