"""``plantbus sim``: the simulated machining line on Modbus TCP and OPC UA."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import click
import yaml
from pydantic import ValidationError

from plantbus.cli.hub import default_data_dir
from plantbus.config.oee import ShiftCalendar
from plantbus.kit.truth import write_truth
from plantbus.oee.calendar import status_at
from plantbus.sim import INSTALL, demo_plant, missing_libraries
from plantbus.sim.model import Bearing, Planned, Reason

__all__ = ["TRUTH_FILE", "calendar_of", "commands", "planned_by"]

SIM_LINE = "demo/machining/line1"


def calendar_of(plant: Path, line: str) -> ShiftCalendar | None:
    """The shift calendar of ``line`` in a plant config (a YAML file or a directory of
    them); None when it has none. Only ``shift_calendars`` is read."""
    files = sorted(plant.glob("*.yaml")) if plant.is_dir() else [plant]
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
            calendars = [ShiftCalendar.model_validate(c) for c in doc.get("shift_calendars", [])]
        except (OSError, yaml.YAMLError, ValidationError, AttributeError) as err:
            raise click.ClickException(f"{path}: no shift calendar to follow: {err}") from None
        for calendar in calendars:
            if line in calendar.lines:
                return calendar
    return None


def planned_by(calendar: ShiftCalendar, clock: Callable[[], float] = time.time) -> Planned:
    """The calendar's planned stops as the simulator asks for them: a break, or no shift."""

    def planned() -> Reason | None:
        status = status_at(calendar, clock())
        if not status.shift:
            return Reason.NO_SHIFT
        return Reason.BREAK if status.breaks else None

    return planned


@dataclass(frozen=True)
class _Line:
    """How the simulated line runs."""

    seed: int
    speed: float
    wear_speed: float
    calendar: ShiftCalendar | None


TRUTH_FILE = "sim-truth.json"
"""In the data dir: the running simulator's ground truth (plantbus.kit.truth), wall time."""


def _say_wear(bearing: Bearing | None, run: _Line, started: float, data_dir: Path) -> None:
    """Say when m2's bearing fails, and write the first failures as ground truth."""
    if bearing is None:
        return
    wall = replace(bearing, speed=bearing.speed * run.speed)  # wear per wall-clock second
    failures = wall.truth(f"{SIM_LINE}/m2", started, 3 * wall.period_h * 3600 / wall.speed)
    write_truth(data_dir / TRUTH_FILE, failures, (started, failures[-1].replaced))
    click.echo(
        f"m2's spindle bearing fails {(failures[0].time - started) / 60:.1f} min after the "
        f"start ({bearing.fail_h:g} h of wear at {run.wear_speed:g}x), then every "
        f"{wall.period_h * 3600 / wall.speed / 60:.1f} min (ground truth: {TRUTH_FILE})"
    )


async def _serve(host: str, ports: tuple[int, int], run: _Line, data_dir: Path) -> None:
    # imported here: asyncua and pymodbus weigh about 25 MB, which every other command
    # (and every `plantbus run SERVICE` process) would otherwise carry
    from plantbus.sdk.certificates import TrustList, fingerprint
    from plantbus.sim.certificate import sim_certificate
    from plantbus.sim.model import line
    from plantbus.sim.opcua_server import serve_opcua
    from plantbus.sim.server import ModbusSim, serve_modbus

    seed, wear_speed, calendar = run.seed, run.wear_speed, run.calendar
    modbus_port, opcua_port = ports
    cert, key = sim_certificate(data_dir)
    machines = line(seed, planned_by(calendar) if calendar else None, wear_speed)
    sim = ModbusSim(machines, speed=run.speed)
    started = time.time()  # the wall clock when the simulated clock starts at 0
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
            if calendar:
                click.echo(f"following shift calendar {calendar.name!r}: stops in breaks")
            _say_wear(machines[1].bearing, run, started, data_dir)
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
    "--wear-speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Acceleration of m2's bearing wear on top of --speed (120: a day in 12 minutes).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PLANTBUS_DATA_DIR",
    help="Where the OPC UA server keeps its certificate (default: the hub's data dir).",
)
@click.option(
    "--plant",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="The plant config whose shift calendar the line follows (default: the demo plant).",
)
@click.option("--no-calendar", is_flag=True, help="Produce around the clock, breaks included.")
def sim(
    host: str,
    modbus_port: int,
    opcua_port: int,
    seed: int,
    speed: float,
    wear_speed: float,
    data_dir: Path | None,
    plant: Path | None,
    no_calendar: bool,
) -> None:
    """Run the simulated plant: three CNC machines with seeded faults, stopped in the
    breaks of their line's shift calendar (planned stop, reason 203 break, 204 no shift);
    m2's spindle bearing wears out and fails (ground truth: docs/maintenance.md)."""
    missing = missing_libraries()
    if missing:
        raise click.ClickException(
            f"the simulated plant needs {' and '.join(missing)}, not installed here: {INSTALL}"
        )
    calendar = None if no_calendar else calendar_of(plant or demo_plant(), SIM_LINE)
    where = data_dir or default_data_dir()
    run = _Line(seed, speed, wear_speed, calendar)
    asyncio.run(_serve(host, (modbus_port, opcua_port), run, where))


commands = [sim]
