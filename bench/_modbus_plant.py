"""Bench helper: a plant's Modbus devices served by this one pymodbus process.

``python bench/_modbus_plant.py PORTS UNITS REGISTERS [--hang]`` listens on ``PORTS``
free loopback ports with unit ids 1..``UNITS`` on each; every device has ``REGISTERS``
holding registers, and each read moves the registers it returns by one (every poll sees
changed values). ``--hang`` adds a port that accepts connections and never answers (a
device that stopped responding). Prints ``{"ports": [...], "hang_port": N}`` on one line
once listening, then serves until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice

from plantbus.sim.server import Access, simulated_device


def _changing(request: Access) -> None:
    """Move every register a read returns by one."""
    if request.reads_holding:
        first, count = request.address - request.start, request.count
        request.registers[first : first + count] = [
            (v + 1) & 0xFFFF for v in request.registers[first : first + count]
        ]


def device(unit: int, registers: int) -> SimDevice:
    return simulated_device(registers, _changing, unit=unit, value=unit, bits=16)


async def _never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.read(4096):
        pass
    writer.close()


async def main(ports: int, units: int, registers: int, hang: bool) -> None:
    servers = []
    bound = []
    for _ in range(ports):
        server = ModbusTcpServer(
            [device(u, registers) for u in range(1, units + 1)], address=("127.0.0.1", 0)
        )
        await server.serve_forever(background=True)
        servers.append(server)
        bound.append(int(server.transport.sockets[0].getsockname()[1]))  # type: ignore[attr-defined]
    hang_port = 0
    if hang:
        hanging = await asyncio.start_server(_never_answer, "127.0.0.1", 0)
        hang_port = int(hanging.sockets[0].getsockname()[1])
    print(json.dumps({"ports": bound, "hang_port": hang_port}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("ports", type=int)
    parser.add_argument("units", type=int)
    parser.add_argument("registers", type=int)
    parser.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.ports, args.units, args.registers, args.hang))
