"""Modbus: tags per second read from a pymodbus server with 1,000 register tags, coalesced
into as few requests as the protocol allows versus one request per tag.

Prints JSON: modbus_tags_per_s_coalesced, modbus_tags_per_s_per_tag, modbus_coalescing_gain,
modbus_requests_per_cycle_coalesced.
"""

from __future__ import annotations

import asyncio
import json
import time

from plantbus_modbus.driver import ModbusDriver, ModbusSettings
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from plantbus.sdk.driver import DataType, TagRef
from plantbus.sim.server import serve_device

TAGS = 1_000


async def rate(port: int, settings: ModbusSettings, seconds: float) -> tuple[float, int]:
    driver = ModbusDriver(f"modbus://127.0.0.1:{port}", settings)
    tags = [TagRef(f"t{i}", f"holding:{i}", DataType.UINT16) for i in range(TAGS)]
    await driver.connect()
    read = 0
    started = time.perf_counter()
    before = driver.requests
    cycles = 0
    while time.perf_counter() - started < seconds:
        readings = await driver.read(tags)
        assert all(r.value is not None for r in readings), readings[0]
        read += len(readings)
        cycles += 1
    elapsed = time.perf_counter() - started
    await driver.close()
    return read / elapsed, (driver.requests - before) // max(cycles, 1)


async def main() -> None:
    regs = [SimData(0, count=TAGS, values=7, datatype=SimType.REGISTERS)]
    bits = [SimData(0, count=16, values=False, datatype=SimType.BITS)]
    async with serve_device(SimDevice(1, simdata=(bits, bits, regs, regs))) as port:
        coalesced, requests = await rate(port, ModbusSettings(max_gap=8), 3.0)
        per_tag, _ = await rate(port, ModbusSettings(max_gap=0, max_registers=1), 3.0)
    print(
        json.dumps(
            {
                "modbus_tags_per_s_coalesced": round(coalesced),
                "modbus_tags_per_s_per_tag": round(per_tag),
                "modbus_coalescing_gain": round(coalesced / per_tag, 1),
                "modbus_requests_per_cycle_coalesced": requests,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
