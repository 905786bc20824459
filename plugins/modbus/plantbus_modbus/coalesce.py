"""Request coalescing: tags whose addresses are close are read in one request.

Blocks never exceed the protocol limits (125 registers, 2000 bits per read) and never
bridge a gap wider than ``max_gap`` unused registers or bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from plantbus_modbus.address import Address, Table

__all__ = ["Block", "plan"]

MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass
class Block:
    """One read request and the tags (by index) it serves."""

    table: Table
    start: int
    count: int
    members: list[tuple[int, Address]] = field(default_factory=list)


def plan(
    addresses: Sequence[Address],
    max_gap: int,
    max_registers: int = MAX_REGISTERS,
    max_bits: int = MAX_BITS,
) -> list[Block]:
    """Blocks covering every address; ``members`` hold (index into addresses, address)."""
    blocks: list[Block] = []
    ordered = sorted(enumerate(addresses), key=lambda pair: (pair[1].table, pair[1].number))
    for index, address in ordered:
        limit = max_bits if address.table.is_bits else max_registers
        last = blocks[-1] if blocks else None
        if (
            last is not None
            and last.table == address.table
            and address.number - (last.start + last.count) <= max_gap
            and max(last.start + last.count, address.end) - last.start <= limit
        ):
            last.count = max(last.start + last.count, address.end) - last.start
            last.members.append((index, address))
            continue
        blocks.append(Block(address.table, address.number, address.count, [(index, address)]))
    return blocks
