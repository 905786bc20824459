"""The Modbus driver: reads coalesced blocks, decodes typed values, writes registers and coils."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from plantbus.sdk import API_VERSION
from plantbus.sdk.driver import ByteOrder, DataType, Driver, Reading, Scalar, TagRef
from plantbus.sdk.errors import DeviceUnavailable, DriverConfigError, WriteNotSupported
from plantbus.sdk.plugin import PluginManifest
from plantbus.sdk.registers import decode, encode
from plantbus_modbus.address import Address, Table, parse_address, tag_for_probe
from plantbus_modbus.coalesce import MAX_BITS, MAX_REGISTERS, Block, plan

__all__ = ["ModbusDriver", "ModbusSettings"]

_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
}


_WORD, _BIT, _FLAG, _DECODE = range(4)
"""How a member's value comes out of its block: the register itself (big-endian uint16),
one bit of it, a coil or discrete input, or :func:`decode` of its registers."""


class _Member(NamedTuple):
    """One tag of a block, with everything its read needs worked out once."""

    position: int
    """Of its tag in the polled tag list."""
    tag: TagRef
    address: Address
    offset: int
    """Of its first register or bit in the block's data."""
    kind: int


@dataclass(frozen=True)
class _Plan:
    """Address errors by tag index, and each block with its members."""

    errors: dict[int, str]
    blocks: list[tuple[Block, list[_Member]]]


def _member(position: int, tag: TagRef, address: Address, block: Block) -> _Member:
    if address.bit is not None:
        kind = _BIT
    elif block.table.is_bits:
        kind = _FLAG
    elif tag.data_type == DataType.UINT16 and tag.byte_order == ByteOrder.BIG:
        kind = _WORD
    else:
        kind = _DECODE
    return _Member(position, tag, address, address.number - block.start, kind)


class ModbusSettings(BaseModel):
    """Connection settings of one Modbus device."""

    model_config = ConfigDict(extra="forbid")
    unit: int = Field(default=1, ge=0, le=255)
    """Unit (slave) id; ``?unit=N`` in the endpoint URL overrides it."""
    framing: Literal["tcp", "rtu"] = "tcp"
    """``rtu`` for RTU frames over TCP (serial gateways)."""
    timeout_s: float = Field(default=2.0, gt=0)
    max_gap: int = Field(default=8, ge=0)
    """Unused registers or bits a coalesced read may span."""
    max_registers: int = Field(default=MAX_REGISTERS, ge=1, le=MAX_REGISTERS)
    max_bits: int = Field(default=MAX_BITS, ge=1, le=MAX_BITS)
    max_concurrent_requests: int = Field(default=1, ge=1)
    """Many PLCs serve one request at a time; raise only for devices that allow more."""


class ModbusDriver(Driver[ModbusSettings]):
    """Modbus TCP and RTU-over-TCP."""

    manifest = PluginManifest("modbus", "0.1.0", API_VERSION, "Modbus TCP and RTU over TCP")
    Settings = ModbusSettings
    schemes = ("modbus", "modbus+rtu")

    def __init__(self, endpoint: str, settings: ModbusSettings) -> None:
        super().__init__(endpoint, settings)
        url = urlsplit(endpoint)
        if url.scheme not in self.schemes or not url.hostname:
            raise DriverConfigError(f"bad Modbus endpoint {endpoint!r}: use modbus://host:port")
        self.host, self.port = url.hostname, url.port or 502
        query = parse_qs(url.query)
        self.unit = int(query["unit"][0]) if "unit" in query else settings.unit
        self.rtu = url.scheme == "modbus+rtu" or settings.framing == "rtu"
        self._client: AsyncModbusTcpClient | None = None
        self._slots = asyncio.Semaphore(settings.max_concurrent_requests)
        self._plans: dict[tuple[TagRef, ...], _Plan] = {}
        self._last: tuple[tuple[TagRef, ...], _Plan] | None = None
        self.requests = 0

    @classmethod
    def validate_tag(cls, tag: TagRef) -> None:
        """Addresses must parse and fit the tag's type."""
        parse_address(tag)

    @classmethod
    def tag_from_address(cls, address: str) -> TagRef:
        """``holding:10:float32`` style probe addresses."""
        return tag_for_probe(address)

    async def connect(self) -> None:
        """Open the TCP connection; DeviceUnavailable when refused or timed out."""
        await self.close()
        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            framer=FramerType.RTU if self.rtu else FramerType.SOCKET,
            timeout=self.settings.timeout_s,
            retries=0,
            reconnect_delay=0,
        )
        try:
            connected = await client.connect()
        except (OSError, ModbusException) as err:
            connected = False
            reason = str(err)
        else:
            reason = "connection refused or timed out"
        if not connected:
            client.close()
            raise DeviceUnavailable(f"modbus {self.host}:{self.port}: {reason}")
        self._client = client

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        if self._client is None or not self._client.connected:
            raise DeviceUnavailable(f"modbus {self.host}:{self.port}: not connected")
        async with self._slots:
            self.requests += 1
            try:
                return await fn(*args, device_id=self.unit, **kwargs)
            except (TimeoutError, ModbusException, OSError) as err:
                raise DeviceUnavailable(f"modbus {self.host}:{self.port}: {err}") from err

    async def _read_block(self, block: Block) -> list[int] | str:
        """Registers or bits of a block, or the Modbus exception as text."""
        assert self._client is not None
        readers = {
            Table.COIL: self._client.read_coils,
            Table.DISCRETE: self._client.read_discrete_inputs,
            Table.HOLDING: self._client.read_holding_registers,
            Table.INPUT: self._client.read_input_registers,
        }
        reply = await self._call(readers[block.table], block.start, count=block.count)
        if reply.isError():
            code = getattr(reply, "exception_code", 0)
            return f"{_EXCEPTIONS.get(code, 'exception')} (code {code})"
        if block.table.is_bits:
            return [int(b) for b in reply.bits[: block.count]]
        return list(reply.registers)

    def _plan(self, tags: Sequence[TagRef]) -> _Plan:
        """Parsed addresses and request blocks for a tag list, cached: polls repeat it.

        A poll passes the same tuple every time, found by identity without hashing its
        thousand tags; other lists are looked up by value.
        """
        if self._last is not None and self._last[0] is tags:
            return self._last[1]
        key = tags if isinstance(tags, tuple) else tuple(tags)
        cached = self._plans.get(key)
        if cached is not None:
            self._last = (key, cached)
            return cached
        errors: dict[int, str] = {}
        valid: list[tuple[int, Address]] = []
        for i, tag in enumerate(tags):
            try:
                valid.append((i, parse_address(tag)))
            except DriverConfigError as err:
                errors[i] = str(err)
        blocks = plan(
            [a for _, a in valid],
            self.settings.max_gap,
            self.settings.max_registers,
            self.settings.max_bits,
        )
        result = _Plan(
            errors,
            [
                # the request alone: its members' addresses are in the _Members
                (
                    Block(b.table, b.start, b.count),
                    [_member(valid[k][0], tags[valid[k][0]], a, b) for k, a in b.members],
                )
                for b in blocks
            ],
        )
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[key] = result
        self._last = (key, result)
        return result

    async def read(self, tags: Sequence[TagRef]) -> list[Reading]:
        """Read every tag in as few requests as the limits allow."""
        readings: list[Reading | None] = [None] * len(tags)
        planned = self._plan(tags)
        for i, error in planned.errors.items():
            readings[i] = Reading.bad(tags[i].name, error)
        for block, members in planned.blocks:
            await self._serve_block(block, members, readings)
        return [
            r if r is not None else Reading.bad(t.name, "not read")
            for r, t in zip(readings, tags, strict=True)
        ]

    async def _serve_block(
        self, block: Block, members: list[_Member], readings: list[Reading | None]
    ) -> None:
        data = await self._read_block(block)
        if isinstance(data, str):
            if len(members) > 1 and "code 2" in data:
                # isolate the bad address: read each member alone
                for m in members:
                    alone = Block(m.address.table, m.address.number, m.address.count)
                    await self._serve_block(alone, [m._replace(offset=0)], readings)
                return
            for m in members:
                readings[m.position] = Reading.bad(m.tag.name, f"modbus {data}")
            return
        for position, tag, address, offset, kind in members:
            value: Scalar
            if kind == _WORD:
                value = data[offset]
            elif kind == _BIT:
                value = bool((data[offset] >> (address.bit or 0)) & 1)
            elif kind == _FLAG:
                value = bool(data[offset])
            else:
                words = data[offset : offset + address.count]
                value = decode(words, tag.data_type, tag.byte_order, tag.word_order)
            readings[position] = Reading(tag.name, value)

    async def write(self, tag: TagRef, value: Scalar) -> None:
        """Write a holding register (or several), a bit of one, or a coil."""
        addr = parse_address(tag)
        if addr.table in {Table.DISCRETE, Table.INPUT}:
            raise WriteNotSupported(f"tag {tag.name!r}: {addr.table} entries are read-only")
        client = self._client
        if client is None:
            raise DeviceUnavailable(f"modbus {self.host}:{self.port}: not connected")
        if addr.table == Table.COIL:
            reply = await self._call(client.write_coil, addr.number, bool(value))
        elif addr.bit is not None:
            current = await self._read_block(Block(addr.table, addr.number, 1))
            if isinstance(current, str):
                raise DeviceUnavailable(f"tag {tag.name!r}: read before bit write: {current}")
            mask = 1 << addr.bit
            word = (current[0] | mask) if value else (current[0] & ~mask)
            reply = await self._call(client.write_register, addr.number, word)
        else:
            words = encode(value, tag.data_type, tag.byte_order, tag.word_order, tag.length)
            reply = await self._call(client.write_registers, addr.number, words)
        if reply.isError():
            code = getattr(reply, "exception_code", 0)
            raise DriverConfigError(
                f"tag {tag.name!r}: device refused the write: "
                f"{_EXCEPTIONS.get(code, 'exception')} (code {code})"
            )
