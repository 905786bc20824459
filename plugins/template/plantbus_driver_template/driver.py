"""The ``linetag`` driver: one TCP connection, one text line per request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.driver import DataType, Driver, Reading, Scalar, TagRef
from plantbus.sdk.errors import DeviceUnavailable, DriverConfigError, PointNotFound
from plantbus.sdk.plugin import PluginManifest

__all__ = ["LineTagDriver", "LineTagSettings"]


class LineTagSettings(BaseModel):
    """Settings of one linetag device."""

    model_config = ConfigDict(extra="forbid")
    timeout_s: float = Field(default=2.0, gt=0)


def parse(text: str, data_type: DataType) -> Scalar:
    """A wire value as the tag's type; ValueError when it is not one."""
    if data_type == DataType.BOOL:
        return {"1": True, "0": False}[text]
    if data_type in {DataType.FLOAT32, DataType.FLOAT64}:
        return float(text)
    if data_type == DataType.STRING:
        return text
    return int(text)


class LineTagDriver(Driver):
    """Reads and writes tags of a linetag server."""

    manifest = PluginManifest("linetag", "0.1.0", API_VERSION, "Template: line-based TCP tags")
    Settings = LineTagSettings
    schemes = ("linetag",)

    def __init__(self, endpoint: str, settings: BaseModel) -> None:
        super().__init__(endpoint, settings)
        assert isinstance(settings, LineTagSettings)
        url = urlsplit(endpoint)
        if url.scheme != "linetag" or not url.hostname or not url.port:
            raise DriverConfigError(f"bad endpoint {endpoint!r}: use linetag://host:port")
        self.host, self.port, self.timeout_s = url.hostname, url.port, settings.timeout_s
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()  # one request on the wire at a time

    @classmethod
    def tag_from_address(cls, address: str) -> TagRef:
        """``name`` or ``name:type`` (``speed:int32``); the type defaults to float64."""
        name, _, kind = address.partition(":")
        try:
            return TagRef(address, name, DataType(kind or "float64"), writable=True)
        except ValueError:
            raise DriverConfigError(f"illegal address {address!r}: unknown type {kind!r}") from None

    async def connect(self) -> None:
        """Open the TCP connection."""
        try:
            self._stream = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout_s
            )
        except TimeoutError:
            raise DeviceUnavailable(f"{self.endpoint}: timeout connecting") from None
        except OSError as err:
            raise DeviceUnavailable(f"{self.endpoint}: connection refused ({err})") from err

    async def _request(self, line: str) -> tuple[bool, str]:
        """Send one line; (ok, rest of the answer). DeviceUnavailable when the link fails."""
        if self._stream is None:
            raise DeviceUnavailable(f"{self.endpoint}: not connected")
        reader, writer = self._stream
        async with self._lock:
            try:
                writer.write(f"{line}\n".encode())
                answer = await asyncio.wait_for(reader.readline(), self.timeout_s)
            except TimeoutError:
                raise DeviceUnavailable(f"{self.endpoint}: timeout waiting for an answer") from None
            except OSError as err:
                raise DeviceUnavailable(f"{self.endpoint}: connection lost ({err})") from err
        if not answer:
            raise DeviceUnavailable(f"{self.endpoint}: connection closed by the server")
        status, _, rest = answer.decode().rstrip("\n").partition(" ")
        return status == "OK", rest

    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """GET each tag; an ERR answer or an unparsable value makes that tag BAD."""
        out = []
        for tag in tags:
            ok, text = await self._request(f"GET {tag.address}")
            if not ok:
                out.append(Reading.bad(tag.name, f"{tag.address}: {text}"))
                continue
            try:
                out.append(Reading(tag.name, parse(text, tag.data_type)))
            except (KeyError, ValueError):
                out.append(Reading.bad(tag.name, f"{tag.address}: {text!r} is not {tag.data_type}"))
        return out

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """SET the tag; an ERR answer raises PointNotFound with the server's reason."""
        text = str(int(value)) if isinstance(value, bool) else str(value)
        ok, reason = await self._request(f"SET {tag.address} {text}")
        if not ok:
            raise PointNotFound(f"{self.endpoint}: cannot write {tag.address}: {reason}")

    async def close(self) -> None:
        """Close the connection; safe at any time."""
        if self._stream is not None:
            writer = self._stream[1]
            self._stream = None
            writer.close()
            with contextlib.suppress(OSError):  # already reset by the server
                await writer.wait_closed()
