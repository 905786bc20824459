"""Modbus tag addresses: ``<table>:<number>[.<bit>][:<type>[:<length>]]``.

Tables are ``coil``, ``discrete``, ``holding`` and ``input``; ``holding:20.3`` is bit 3
of holding register 20. The type part is only for ``plantbus probe``; configured tags
take their type from the tag's ``data_type``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from plantbus.sdk.driver import DataType, TagRef
from plantbus.sdk.errors import DriverConfigError
from plantbus.sdk.registers import register_count

__all__ = ["Address", "Table", "parse_address"]

_SYNTAX = re.compile(
    r"^(?P<table>coil|discrete|holding|input):(?P<number>\d+)(?:\.(?P<bit>\d+))?"
    r"(?::(?P<type>[a-z0-9]+)(?::(?P<length>\d+))?)?$"
)


class Table(enum.StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE = "discrete"
    HOLDING = "holding"
    INPUT = "input"

    @property
    def is_bits(self) -> bool:
        """Coils and discrete inputs hold bits, the others 16-bit registers."""
        return self in {Table.COIL, Table.DISCRETE}


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address with the span it occupies in its table (slotted: a poll plan
    holds one per tag)."""

    table: Table
    number: int
    bit: int | None
    count: int

    @property
    def end(self) -> int:
        """One past the last register or bit."""
        return self.number + self.count


def parse_address(tag: TagRef) -> Address:
    """Parse and check a tag's address against its type; DriverConfigError says why not."""
    match = _SYNTAX.match(tag.address.strip())
    if not match:
        raise DriverConfigError(
            f"tag {tag.name!r}: bad Modbus address {tag.address!r}; expected "
            "coil:N, discrete:N, holding:N, input:N or holding:N.BIT"
        )
    table = Table(match["table"])
    number = int(match["number"])
    bit = int(match["bit"]) if match["bit"] is not None else None
    if number > 65535:
        raise DriverConfigError(f"tag {tag.name!r}: address {number} is beyond 65535")
    if bit is not None and (table.is_bits or bit > 15):
        raise DriverConfigError(f"tag {tag.name!r}: a bit (0..15) applies to registers only")
    if table.is_bits or bit is not None:
        if tag.data_type != DataType.BOOL:
            raise DriverConfigError(
                f"tag {tag.name!r}: {tag.address!r} holds a bit, but data_type is {tag.data_type}"
            )
        return Address(table, number, bit, 1)
    return Address(table, number, None, register_count(tag.data_type, tag.length))


def tag_for_probe(address: str) -> TagRef:
    """A TagRef from a probe address such as ``holding:10:float32`` or ``holding:30:string:8``."""
    match = _SYNTAX.match(address.strip())
    if not match:
        return TagRef(address, address, DataType.UINT16)  # parse_address reports the error
    if match["type"]:
        try:
            data_type = DataType(match["type"])
        except ValueError:
            raise DriverConfigError(
                f"unknown type {match['type']!r} in {address!r}; use one of "
                + ", ".join(t.value for t in DataType)
            ) from None
    elif match["table"] in {"coil", "discrete"} or match["bit"] is not None:
        data_type = DataType.BOOL
    else:
        data_type = DataType.UINT16
    base = address.rsplit(":", 2 if match["length"] else 1)[0] if match["type"] else address
    return TagRef(
        address,
        base,
        data_type,
        length=int(match["length"] or 0),
        writable=match["table"] in {"coil", "holding"},
    )
