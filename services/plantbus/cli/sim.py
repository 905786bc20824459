"""``plantbus sim``: the simulated machining line on Modbus TCP and OPC UA."""

from __future__ import annotations

import asyncio
import signal

import click

__all__ = ["commands"]


async def _serve(host: str, modbus_port: int, opcua_port: int, seed: int, speed: float) -> None:
    # imported here: asyncua and pymodbus weigh about 25 MB, which every other command
    # (and every `plantbus run SERVICE` process) would otherwise carry
    from plantbus.sim.model import line
    from plantbus.sim.opcua_server import serve_opcua
    from plantbus.sim.server import ModbusSim, serve_modbus

    machines = line(seed)
    sim = ModbusSim(machines, speed=speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with (
            serve_modbus(sim, host, modbus_port) as port,
            serve_opcua(machines, sim.now, host, opcua_port) as opcua,
        ):
            click.echo(
                f"simulated line1 (m1, m2, m3) on modbus://{host}:{port} and {opcua} (seed {seed})"
            )
            await stop.wait()
    except OSError as err:
        raise click.ClickException(str(err)) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--modbus-port", type=int, default=5020, show_default=True)
@click.option("--opcua-port", type=int, default=4840, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same faults.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Time acceleration.")
def sim(host: str, modbus_port: int, opcua_port: int, seed: int, speed: float) -> None:
    """Run the simulated plant: three CNC machines with seeded faults."""
    asyncio.run(_serve(host, modbus_port, opcua_port, seed, speed))


commands = [sim]
