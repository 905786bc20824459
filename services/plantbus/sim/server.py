"""Serves the simulated line over a real pymodbus TCP server.

Machine ``i`` occupies holding registers ``100*i ...``; every read sees the state at
that moment and a write to ``speed_setpoint`` changes the machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from plantbus.sim.model import REGISTERS_PER_MACHINE, SPEED, MachineSim

__all__ = ["Access", "ModbusSim", "serve_device", "serve_modbus", "simulated_device"]

_READ_HOLDING, _WRITE_REGISTER, _WRITE_REGISTERS = 3, 6, 16


class ModbusSim:
    """The register view of a line of machines."""

    def __init__(
        self,
        machines: list[MachineSim],
        clock: Callable[[], float] = time.monotonic,
        speed: float = 1.0,
    ) -> None:
        self.machines = machines
        self.clock = clock
        self.speed = speed
        self.start = clock()

    def now(self) -> float:
        """Simulated time (scaled by ``speed``)."""
        return (self.clock() - self.start) * self.speed

    def access(self, request: Access) -> None:
        """Refresh the registers before a read; apply a write to a speed setpoint."""
        if request.writes_registers:
            for offset, value in enumerate(request.set_values or ()):
                index, field = divmod(request.address + offset, REGISTERS_PER_MACHINE)
                if field == SPEED and index < len(self.machines):
                    self.machines[index].speed_setpoint = int(value)
            return
        if not request.reads_holding:
            return
        now = self.now()
        for index, machine in enumerate(self.machines):
            machine.step(now)
            base = index * REGISTERS_PER_MACHINE - request.start
            image = machine.registers()
            request.registers[base : base + len(image)] = image

    def device(self) -> SimDevice:
        """A pymodbus device with coils, discrete inputs, holding and input registers."""
        return simulated_device(REGISTERS_PER_MACHINE * max(len(self.machines), 1), self.access)


@dataclass(frozen=True)
class Access:
    """One request as pymodbus's simulator hands it to a device's action: ``registers``
    is the block that starts at address ``start``; a write brings ``set_values``."""

    function_code: int
    start: int
    address: int
    count: int
    registers: list[int]
    set_values: list[int] | list[bool] | None

    @property
    def reads_holding(self) -> bool:
        return self.function_code == _READ_HOLDING

    @property
    def writes_registers(self) -> bool:
        return self.function_code in {_WRITE_REGISTER, _WRITE_REGISTERS} and (
            self.set_values is not None
        )


def simulated_device(
    size: int,
    on_access: Callable[[Access], None] | None = None,
    *,
    unit: int = 1,
    value: int = 0,
    bits: int | None = None,
) -> SimDevice:
    """A pymodbus device ``unit`` of ``size`` holding and input registers (each ``value``)
    and ``bits`` coils and discrete inputs (default ``size``); ``on_access`` sees every
    request before it is answered."""
    bit_count = size if bits is None else bits
    blocks = (
        [SimData(0, count=bit_count, values=False, datatype=DataType.BITS)],
        [SimData(0, count=bit_count, values=False, datatype=DataType.BITS)],
        [SimData(0, count=size, values=value, datatype=DataType.REGISTERS)],
        [SimData(0, count=size, values=value, datatype=DataType.REGISTERS)],
    )
    if on_access is None:
        return SimDevice(unit, simdata=blocks)
    see = on_access

    async def action(
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        see(Access(function_code, start, address, count, registers, set_values))

    return SimDevice(unit, simdata=blocks, action=action)


def serve_modbus(
    sim: ModbusSim, host: str = "127.0.0.1", port: int = 0
) -> AbstractAsyncContextManager[int]:
    """Serve the simulated line; yields the bound port (port 0 picks a free one)."""
    return serve_device(sim.device(), host, port)


@asynccontextmanager
async def serve_device(
    device: SimDevice, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[int]:
    """Run a pymodbus TCP server for ``device``; yields the bound port."""
    server = ModbusTcpServer([device], address=(host, port))
    try:
        await server.serve_forever(background=True)
    except RuntimeError as err:
        raise OSError(f"cannot listen for Modbus on {host}:{port}: port in use?") from err
    try:
        listener = server.transport  # an asyncio.Server once listening
        yield int(listener.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0)
