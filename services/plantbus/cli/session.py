"""One driver session against a device, outside the hub (``plantbus probe``,
``plantbus devices trust``): the installed driver for a URL's scheme, addresses and values
parsed as the driver says, and every answer with its quality and round-trip time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from pydantic import ValidationError

from plantbus.cli.locallog import LocalLog
from plantbus.plugins import DRIVERS, discover
from plantbus.sdk.driver import (
    DataType,
    Driver,
    DriverContext,
    Quality,
    Scalar,
    SupportsBrowse,
    SupportsServerTrust,
    TagRef,
)
from plantbus.sdk.errors import PlantbusError, ValidationFailed

__all__ = ["Answer", "Probe", "Request", "driver_for", "parse_value", "why"]


def driver_for(url: str) -> type[Driver]:
    """The installed driver class serving ``url``'s scheme; ClickException lists the known ones."""
    scheme = urlsplit(url).scheme
    loaded = discover(DRIVERS).loaded()
    drivers = [cls for cls in loaded.values() if issubclass(cls, Driver)]
    for cls in drivers:
        if scheme in cls.schemes:
            return cls
    known = ", ".join(sorted(f"{s}://" for cls in drivers for s in cls.schemes)) or "none"
    raise click.ClickException(
        f"no installed driver handles {scheme or '(no scheme)'}:// in {url!r} (installed: {known})"
    )


def parse_value(text: str, data_type: DataType) -> Scalar:
    """A command-line value as the tag's type; ValidationFailed when it is not one."""
    try:
        if data_type == DataType.BOOL:
            return {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}[
                text.lower()
            ]
        if data_type in {DataType.FLOAT32, DataType.FLOAT64}:
            return float(text)
        if data_type == DataType.STRING:
            return text
        return int(text, 0)
    except (KeyError, ValueError):
        raise ValidationFailed(f"value {text!r} is not a {data_type}") from None


@dataclass
class Request:
    """One address to read (and a value to write first), or why it cannot be."""

    address: str
    tag: TagRef | None = None
    value: Scalar | None = None
    error: str = ""


@dataclass
class Answer:
    """One address's outcome."""

    address: str
    value: Scalar | None = None
    quality: str = "bad"
    round_trip_ms: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The --json form: address, value, quality, round_trip_ms, and error when there is one."""
        value = self.value.hex() if isinstance(self.value, bytes) else self.value
        out: dict[str, Any] = {"address": self.address, "value": value, "quality": self.quality}
        out["round_trip_ms"] = round(self.round_trip_ms, 3)
        if self.error:
            out["error"] = self.error
        return out

    def line(self) -> str:
        """The text form."""
        if self.error:
            return f"{self.address}: ERROR {self.error}"
        return f"{self.address} = {self.value!r}  [{self.quality}]  {self.round_trip_ms:.1f} ms"


def why(err: BaseException, timeout_s: float) -> str:
    if isinstance(err, TimeoutError):
        return f"timeout: no answer within {timeout_s:g}s"
    if isinstance(err, PlantbusError):
        return str(err)
    return f"{type(err).__name__}: {err}"


class Probe:
    """One driver session against the device at ``url``."""

    def __init__(self, url: str, timeout_s: float, security: str | None, data_dir: Path) -> None:
        self.cls = driver_for(url)
        self.url = url
        self.timeout_s = timeout_s
        settings = {}
        if security is not None:
            if "security" not in self.cls.Settings.model_fields:
                raise click.ClickException(
                    f"driver {self.cls.manifest.name!r} has no security setting; "
                    "leave out --security"
                )
            settings["security"] = security
        try:
            self.driver = self.cls(url, self.cls.Settings.model_validate(settings))
        except ValidationError as err:
            why = "; ".join(e["msg"] for e in err.errors())
            raise click.ClickException(f"--security {security!r}: {why}") from None
        except PlantbusError as err:
            raise click.ClickException(str(err)) from None
        self.driver.context = DriverContext(url, data_dir)

    async def call(self, coro: Any) -> Any:
        return await asyncio.wait_for(coro, self.timeout_s)

    def plan(self, address: str, text: str | None = None) -> Request:
        """Parse an address (and the value to write) before any I/O, so an illegal
        address is reported even when the device is unreachable."""
        try:
            tag = self.cls.tag_from_address(address)
            self.cls.validate_tag(tag)
            value = None if text is None else parse_value(text, tag.data_type)
        except PlantbusError as err:
            return Request(address, error=str(err))
        return Request(address, tag, value)

    def security(self) -> str:
        """The security of the open session, for drivers that have any."""
        if not isinstance(self.driver, SupportsServerTrust):
            return ""
        used = self.driver.security()
        return f"{used} (neither signed nor encrypted)" if used == "None" else used

    async def run(self, request: Request, log: LocalLog) -> Answer:
        """Write when asked (logging the old and new value), then read; time the round trip."""
        if request.tag is None:
            return Answer(request.address, error=request.error)
        writing = request.value is not None
        old = await self.run(Request(request.address, request.tag), log) if writing else None
        started = time.perf_counter()
        written = False
        try:
            if request.value is not None:
                await self.call(self.driver.write(request.tag, request.value))
                written = True
            (reading,) = await self.call(self.driver.read([request.tag]))
        except (TimeoutError, PlantbusError) as err:
            answer = Answer(request.address, error=why(err, self.timeout_s))
        else:
            elapsed = (time.perf_counter() - started) * 1000
            quality = Quality(reading.quality).name.lower()
            answer = Answer(request.address, reading.value, quality, elapsed, reading.reason)
        if writing:
            log.append(
                url=self.url,
                address=request.address,
                old=old.value if old else None,
                new=request.value,
                written=written,
                read_back=answer.value,
                error=answer.error,
            )
        return answer

    async def browse(self, node: str | None) -> list[dict[str, Any]]:
        """The nodes below ``node``; ClickException when the driver cannot browse."""
        if not isinstance(self.driver, SupportsBrowse):
            raise click.ClickException(f"driver {self.cls.manifest.name!r} cannot browse")
        try:
            nodes = await self.call(self.driver.browse(node or None))
        except (TimeoutError, PlantbusError) as err:
            raise click.ClickException(why(err, self.timeout_s)) from None
        return [
            {
                "address": n.address,
                "name": n.name,
                "data_type": n.data_type,
                "children": n.has_children,
            }
            for n in nodes
        ]
