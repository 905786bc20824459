"""``plantbus sim``: the simulated machining line on Modbus TCP and OPC UA."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from plantbus.cli.hub import default_data_dir
from plantbus.sim import INSTALL, missing_libraries

__all__ = ["commands"]


async def _serve(
    host: str, modbus_port: int, opcua_port: int, seed: int, speed: float, data_dir: Path
) -> None:
    # imported here: asyncua and pymodbus weigh about 25 MB, which every other command
    # (and every `plantbus run SERVICE` process) would otherwise carry
    from plantbus.sdk.certificates import TrustList, fingerprint
    from plantbus.sim.certificate import sim_certificate
    from plantbus.sim.model import line
    from plantbus.sim.opcua_server import serve_opcua
    from plantbus.sim.server import ModbusSim, serve_modbus

    cert, key = sim_certificate(data_dir)
    machines = line(seed)
    sim = ModbusSim(machines, speed=speed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with (
            serve_modbus(sim, host, modbus_port) as port,
            serve_opcua(machines, sim.now, host, opcua_port, cert, key) as opcua,
        ):
            click.echo(
                f"simulated line1 (m1, m2, m3) on modbus://{host}:{port} and {opcua} (seed {seed})"
            )
            der = cert.read_bytes()
            click.echo(f"OPC UA signs and encrypts; its certificate has SHA-256 {fingerprint(der)}")
            if not TrustList.of(data_dir, "opcua").contains(der):
                click.echo(f"trust it with: plantbus devices trust {opcua} --data-dir {data_dir}")
            await stop.wait()
    except OSError as err:
        raise click.ClickException(str(err)) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--modbus-port", type=int, default=5020, show_default=True)
@click.option("--opcua-port", type=int, default=4840, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same faults.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Time acceleration.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PLANTBUS_DATA_DIR",
    help="Where the OPC UA server keeps its certificate (default: the hub's data dir).",
)
def sim(
    host: str, modbus_port: int, opcua_port: int, seed: int, speed: float, data_dir: Path | None
) -> None:
    """Run the simulated plant: three CNC machines with seeded faults."""
    missing = missing_libraries()
    if missing:
        raise click.ClickException(
            f"the simulated plant needs {' and '.join(missing)}, not installed here: {INSTALL}"
        )
    asyncio.run(_serve(host, modbus_port, opcua_port, seed, speed, data_dir or default_data_dir()))


commands = [sim]
