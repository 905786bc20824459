"""The ``linetag`` driver: Plantbus's Driver API over the protocol client in
``protocol.py``, with the protocol's failures translated into the SDK's errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from plantbus.sdk import API_VERSION
from plantbus.sdk.driver import Driver, Reading, Scalar, TagRef
from plantbus.sdk.errors import DeviceUnavailable, DriverConfigError, PointNotFound, describe
from plantbus.sdk.plugin import PluginManifest
from pydantic import BaseModel, ConfigDict, Field

from plantbus_linetag.protocol import LineClient

__all__ = ["LineTagDriver", "LineTagSettings"]


class LineTagSettings(BaseModel):
    """Settings of one linetag device."""

    model_config = ConfigDict(extra="forbid")
    timeout_s: float = Field(default=2.0, gt=0)


class LineTagDriver(Driver[LineTagSettings]):
    """Reads and writes the tags of one linetag server."""

    manifest = PluginManifest("linetag", "0.1.0", API_VERSION, "Example line-based TCP protocol")
    Settings = LineTagSettings
    schemes = ("linetag",)

    def __init__(self, endpoint: str, settings: LineTagSettings) -> None:
        super().__init__(endpoint, settings)
        url = urlsplit(endpoint)
        if url.scheme != "linetag" or not url.hostname or not url.port:
            raise DriverConfigError(f"bad endpoint {endpoint!r}: use linetag://host:port")
        self.client = LineClient(url.hostname, url.port, settings.timeout_s)

    @classmethod
    def tag_from_address(cls, address: str) -> TagRef:
        """``name`` or ``name:type`` (``speed:int32``), for ``plantbus probe --read``."""
        return TagRef.typed(address)

    @contextlib.contextmanager
    def _link(self, doing: str) -> Iterator[None]:
        """The protocol's link failures while ``doing`` something, as DeviceUnavailable."""
        try:
            yield
        except (TimeoutError, OSError) as err:
            raise DeviceUnavailable(f"{self.endpoint}: {doing}: {describe(err)}") from err

    async def connect(self) -> None:
        """Open the connection."""
        with self._link("connect"):
            await self.client.connect()

    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """GET each tag; an ERR answer or a value of another type makes that tag BAD."""
        out = []
        for tag in tags:
            with self._link(f"read {tag.address}"):
                ok, value = await self.client.request(f"GET {tag.address}")
            answer = Reading.checked(tag, value) if ok else Reading.bad(tag.name, str(value))
            out.append(answer)
        return out

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """SET the tag; an ERR answer raises PointNotFound with the server's reason."""
        with self._link(f"write {tag.address}"):
            ok, reason = await self.client.request(f"SET {tag.address}", value)
        if not ok:
            raise PointNotFound(f"{self.endpoint}: cannot write {tag.address}: {reason}")

    async def close(self) -> None:
        """Close the connection; safe at any time."""
        await self.client.close()
