"""An in-memory driver (entry point ``memory``): no protocol, just values in a dict.

Used by tests and the device-pipeline benchmark to measure what the device service
costs without any protocol in the way. Endpoints look like ``memory://name``; tests
reach the values and failure switches through :data:`MemoryDriver.devices`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from plantbus.sdk import API_VERSION
from plantbus.sdk.driver import DataType, Driver, Reading, Scalar, SupportsSubscribe, TagRef
from plantbus.sdk.errors import DeviceUnavailable, DriverConfigError, PointNotFound
from plantbus.sdk.plugin import PluginManifest

__all__ = ["MemoryDevice", "MemoryDriver", "MemoryPushDriver", "MemorySettings"]


class MemorySettings(BaseModel):
    """Settings of the memory driver."""

    model_config = ConfigDict(extra="forbid")
    changing: bool = False
    """Every read moves numeric values by one, so every sample is a change."""


@dataclass
class MemoryDevice:
    """The simulated state behind one ``memory://`` endpoint."""

    values: dict[str, Scalar] = field(default_factory=dict)
    down: bool = False
    reads: int = 0
    hang_s: float = 0.0
    """Every read waits this long first (a device that stopped answering)."""
    subscribers: list[tuple[list[TagRef], Callable[[Reading], None]]] = field(default_factory=list)

    def push(self, address: str, value: Scalar) -> None:
        """Change a value and tell subscribers (what a device with push does)."""
        self.values[address] = value
        for tags, on_reading in self.subscribers:
            for tag in tags:
                if tag.address == address:
                    on_reading(Reading(tag.name, value))


class MemoryDriver(Driver):
    """Reads and writes values held in process memory."""

    manifest = PluginManifest("memory", "1.0", API_VERSION, "In-memory values for tests")
    Settings = MemorySettings
    schemes = ("memory",)
    devices: ClassVar[dict[str, MemoryDevice]] = {}

    @classmethod
    def validate_tag(cls, tag: TagRef) -> None:
        """Addresses are any non-empty name."""
        if not tag.address.strip():
            raise DriverConfigError(f"tag {tag.name!r}: empty address")

    @property
    def device(self) -> MemoryDevice:
        """This endpoint's state (created on first use)."""
        return self.devices.setdefault(self.endpoint, MemoryDevice())

    async def connect(self) -> None:
        """Fail while the device is marked down."""
        if self.device.down:
            raise DeviceUnavailable(f"{self.endpoint}: connection refused (simulated)")

    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """Current values; addresses starting with 'missing' do not exist."""
        device = self.device
        if device.hang_s:
            await asyncio.sleep(device.hang_s)
        if device.down:
            raise DeviceUnavailable(f"{self.endpoint}: connection lost (simulated)")
        device.reads += 1
        changing = isinstance(self.settings, MemorySettings) and self.settings.changing
        values = device.values
        out = []
        for tag in tags:  # benches read 50,000 tags a second through here: kept lean
            address = tag.address
            if address.startswith("missing"):
                out.append(Reading.bad(tag.name, f"no address {address!r}"))
                continue
            value = values.get(address)
            if value is None:
                value = _zero(tag.data_type)
            if changing and _counts(value):
                value += 1  # type: ignore[operator]  # _counts: an int or a float
                values[address] = value
            out.append(Reading(tag.name, value))
        return out

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """Store the value."""
        if self.device.down:
            raise DeviceUnavailable(f"{self.endpoint}: connection lost (simulated)")
        if tag.address.startswith("missing"):
            raise PointNotFound(f"no address {tag.address!r}")
        self.device.values[tag.address] = value

    async def close(self) -> None:
        """Nothing to release."""


class MemoryPushDriver(MemoryDriver, SupportsSubscribe):
    """The memory driver with push: :meth:`MemoryDevice.push` reaches subscribers.

    Not an entry point; tests put it into a service's driver registry themselves.
    """

    manifest = PluginManifest("memory-push", "1.0", API_VERSION, "In-memory values with push")

    def __init__(self, endpoint: str, settings: BaseModel) -> None:
        super().__init__(endpoint, settings)
        self._subscription: tuple[list[TagRef], Callable[[Reading], None]] | None = None

    async def subscribe(
        self,
        tags: Sequence[TagRef],
        on_reading: Callable[[Reading], None],
        sampling_interval_s: float,
    ) -> None:
        """Register for pushes until close()."""
        self._subscription = (list(tags), on_reading)
        self.device.subscribers.append(self._subscription)

    async def close(self) -> None:
        """Unsubscribe."""
        if self._subscription in self.device.subscribers:
            self.device.subscribers.remove(self._subscription)
        self._subscription = None


def _counts(value: Scalar) -> bool:
    """Whether a changing device moves ``value`` (numbers, not bools); the exact types
    first, without the isinstance chain."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def _zero(data_type: DataType) -> Scalar:
    if data_type == DataType.BOOL:
        return False
    if data_type == DataType.STRING:
        return ""
    if data_type in {DataType.FLOAT32, DataType.FLOAT64}:
        return 0.0
    return 0
