"""The simulator's OPC UA view and its Modbus view share the machines: a setpoint written
over Modbus stays (the OPC UA pass shows it instead of putting its old value back), one
written over OPC UA reaches the machine."""

from __future__ import annotations

from typing import Any

from asyncua import ua

from plantbus.sim.model import line
from plantbus.sim.opcua_server import _refresh_once


class Variable:
    """What the refresh pass uses of an asyncua node."""

    def __init__(self, value: int) -> None:
        self.value = value

    async def read_value(self) -> int:
        return self.value

    async def write_value(self, variant: ua.Variant) -> None:
        self.value = int(variant.Value)


async def test_a_setpoint_written_on_either_side_stays() -> None:
    machine = line()[0]
    var = Variable(machine.speed_setpoint)
    nodes: list[tuple[Any, str, Any]] = [(machine, "speed_setpoint", var)]
    shown: dict[int, int] = {}
    await _refresh_once(nodes, 0.0, shown)
    machine.speed_setpoint = 4200  # a Modbus write
    await _refresh_once(nodes, 0.5, shown)
    assert machine.speed_setpoint == 4200 and var.value == 4200
    var.value = 3500  # an OPC UA client's write
    await _refresh_once(nodes, 1.0, shown)
    await _refresh_once(nodes, 1.5, shown)
    assert machine.speed_setpoint == 3500 and var.value == 3500
