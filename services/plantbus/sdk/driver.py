"""The driver interface that protocol plugins implement (entry-point group ``plantbus.drivers``).

A driver only speaks its protocol. The device service owns scheduling, scaling,
deadband, buffering, reconnect with back-off and quality bookkeeping, so every
driver gets them for free.

Lifecycle, driven by the runtime: ``connect()`` -> many ``read()``/``write()`` ->
``close()``. When ``read`` raises :class:`~plantbus.sdk.errors.DeviceUnavailable`
the runtime calls ``close()`` and later ``connect()`` again; drivers never
reconnect by themselves.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeGuard

from plantbus.sdk.errors import DriverConfigError, WriteNotSupported
from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = [
    "BrowseNode",
    "ByteOrder",
    "DataType",
    "Driver",
    "DriverContext",
    "Quality",
    "Reading",
    "Scalar",
    "SupportsBrowse",
    "SupportsServerTrust",
    "SupportsSubscribe",
    "TagRef",
]

Scalar = bool | int | float | str | bytes
"""A decoded process value."""


class DataType(enum.StrEnum):
    """Types a tag can have; drivers decode their wire format into these."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"

    def accepts(self, value: object) -> TypeGuard[Scalar]:
        """True when ``value`` (as a protocol library returns it) fits this type."""
        if self is DataType.BOOL:
            return isinstance(value, bool)
        if self is DataType.STRING:
            return isinstance(value, str)
        if isinstance(value, bool):
            return False
        if self in (DataType.FLOAT32, DataType.FLOAT64):
            return isinstance(value, int | float)
        return isinstance(value, int)


class ByteOrder(enum.StrEnum):
    """Byte order inside a 16-bit register, or word order across registers."""

    BIG = "big"
    LITTLE = "little"


class Quality(enum.IntEnum):
    """Trust level of a reading; values match ``plantbus.v1.Quality``."""

    GOOD = 1
    UNCERTAIN = 2
    BAD = 3


@dataclass(frozen=True, slots=True)
class TagRef:
    """One tag as a driver sees it: the driver-specific address and the wanted type.

    Slotted (no ``__dict__``): a plant holds one per tag."""

    name: str
    address: str
    data_type: DataType
    byte_order: ByteOrder = ByteOrder.BIG
    word_order: ByteOrder = ByteOrder.BIG
    length: int = 0
    """Characters for STRING tags; ignored otherwise."""
    writable: bool = False

    @classmethod
    def typed(cls, address: str, default: DataType = DataType.FLOAT64) -> TagRef:
        """A writable tag from ``name`` or ``name:type`` (``speed:int32``), as typed on the
        command line; DriverConfigError names an unknown type."""
        name, _, kind = address.partition(":")
        try:
            return cls(address, name, DataType(kind) if kind else default, writable=True)
        except ValueError:
            known = ", ".join(DataType)
            raise DriverConfigError(
                f"illegal address {address!r}: unknown type {kind!r} (one of {known})"
            ) from None


_set = object.__setattr__


@dataclass(frozen=True, slots=True, init=False)
class Reading:
    """Result of reading one tag. ``value`` is None exactly when quality is BAD.

    One is made per sample, so it is slotted (72 bytes instead of 168) and its
    constructor is written out: the one a frozen dataclass generates looks up
    ``object.__setattr__`` anew for every field (construction 540 -> 460 ns of CPU)."""

    tag: str
    value: Scalar | None
    quality: Quality = Quality.GOOD
    reason: str = ""
    source_time: datetime | None = None

    def __init__(
        self,
        tag: str,
        value: Scalar | None,
        quality: Quality = Quality.GOOD,
        reason: str = "",
        source_time: datetime | None = None,
    ) -> None:
        _set(self, "tag", tag)
        _set(self, "value", value)
        _set(self, "quality", quality)
        _set(self, "reason", reason)
        _set(self, "source_time", source_time)

    @classmethod
    def bad(cls, tag: str, reason: str) -> Reading:
        """A reading that carries no value, only why."""
        return cls(tag=tag, value=None, quality=Quality.BAD, reason=reason)

    @classmethod
    def checked(cls, tag: TagRef, value: object) -> Reading:
        """GOOD when ``value`` fits the tag's type, else BAD saying what came back."""
        if tag.data_type.accepts(value):
            return cls(tag=tag.name, value=value)
        return cls.bad(tag.name, f"{tag.address}: {value!r} is not {tag.data_type}")


@dataclass(frozen=True)
class BrowseNode:
    """One node found by browsing a device's address space."""

    address: str
    name: str
    data_type: str = ""
    has_children: bool = False
    writable: bool = False
    description: str = ""
    children: list[BrowseNode] = field(default_factory=list)


@dataclass(frozen=True)
class DriverContext:
    """Where a driver instance runs, beside its endpoint and settings."""

    device: str = ""
    """The device's name in the plant config, or the URL ``plantbus probe`` was given:
    what errors that need the operator call it."""
    data_dir: Path | None = None
    """The hub's data dir on this host, shared with the CLI, for the driver's own files
    (certificates and trust lists, see :mod:`plantbus.sdk.certificates`); None when the host
    has none."""


class Driver(Plugin[SettingsT], abc.ABC):
    """Base class for protocol drivers. One instance per device connection.

    Subclasses set ``manifest`` (name == entry-point name), ``Settings`` (a
    pydantic model of the device's driver settings) and ``schemes`` (URL schemes
    ``plantbus probe`` dispatches on, for example ``("modbus",)``).
    """

    schemes: ClassVar[tuple[str, ...]] = ()
    context: DriverContext = DriverContext()
    """Set by the host (the device service, ``plantbus probe``) after construction and
    before ``connect()``."""

    def __init__(self, endpoint: str, settings: SettingsT) -> None:
        """Store the endpoint URL and validated settings. Must not perform I/O."""
        self.endpoint = endpoint
        self.settings = settings

    @classmethod
    def validate_tag(cls, tag: TagRef) -> None:
        """Raise :class:`~plantbus.sdk.errors.DriverConfigError` when the address cannot work.

        Called by governance at config time, so a typo is reported before anything runs.
        """

    @classmethod
    def tag_from_address(cls, address: str) -> TagRef:
        """A TagRef for an address typed on the command line (``plantbus probe --read``).

        Drivers whose address syntax carries a type (``holding:10:float32``) override this.
        """
        return TagRef(name=address, address=address, data_type=DataType.FLOAT64)

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the session; raise DeviceUnavailable (retryable) or DeviceAuthFailed."""

    @abc.abstractmethod
    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """Read a batch of tags; one Reading per tag, in the same order.

        A tag that fails alone (illegal address, type mismatch) gets a BAD reading
        with the reason; a connection failure raises DeviceUnavailable instead.
        """

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """Write one value. Policy checks happened before this is called."""
        raise WriteNotSupported(f"driver {self.manifest.name!r} cannot write (tag {tag.name!r})")

    @abc.abstractmethod
    async def close(self) -> None:
        """Release everything. Safe to call twice and after a failed connect."""


class SupportsSubscribe(abc.ABC):
    """Capability of drivers whose protocol pushes changes (OPC UA monitored items)."""

    @abc.abstractmethod
    async def subscribe(
        self,
        tags: Sequence[TagRef],
        on_reading: Callable[[Reading], None],
        sampling_interval_s: float,
    ) -> None:
        """Start pushing readings for ``tags`` to ``on_reading`` until ``close()``."""


class SupportsBrowse(abc.ABC):
    """Capability of drivers that can list a device's address space."""

    @abc.abstractmethod
    async def browse(self, address: str | None = None, depth: int = 1) -> list[BrowseNode]:
        """List the nodes below ``address`` (the root when None)."""


class SupportsServerTrust(abc.ABC):
    """Capability of drivers whose servers prove who they are with a certificate that the
    hub trusts only once it is in the driver's trust list (``plantbus devices trust``)."""

    @abc.abstractmethod
    async def server_certificate(self) -> bytes:
        """The certificate (DER) the server at the endpoint presents, trusted or not,
        without opening a session."""

    @abc.abstractmethod
    def security(self) -> str:
        """After ``connect()``: the security in use, for example
        ``Basic256Sha256 SignAndEncrypt``, or ``None``."""
