"""Entry point of the ``plantbus`` command: the group and the registration of subcommands.

Each area owns a module in this package that exposes ``commands`` (a list of click
commands or groups); ``COMMANDS`` names the module of each top-level command, which is
imported only when that command runs (or when help lists them all): ``plantbus status``
does not pay for importing the simulator, the backtest and every other command, and
neither does each ``plantbus run SERVICE`` process.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Final

import click

from plantbus import __version__
from plantbus.cli.exits import Exit, for_error
from plantbus.sdk.errors import PlantbusError

COMMANDS: Final = {
    "run": "plantbus.cli.core",
    "plugins": "plantbus.cli.core",
    "up": "plantbus.cli.core",
    "status": "plantbus.cli.status",
    "tail": "plantbus.cli.tail",
    "config": "plantbus.cli.config",
    "audit": "plantbus.cli.audit",
    "sim": "plantbus.cli.sim",
    "oee": "plantbus.cli.oee",
    "alarms": "plantbus.cli.alarms",
    "security": "plantbus.cli.security",
    "erp": "plantbus.cli.erp",
    "probe": "plantbus.cli.probe",
    "devices": "plantbus.cli.device",
    "dashboard": "plantbus.cli.dashboard",
    "users": "plantbus.cli.users",
    "history": "plantbus.cli.history",
    "maintenance": "plantbus.cli.maintenance",
}
"""Top-level command -> the module whose ``commands`` holds it."""


class LazyGroup(click.Group):
    """A group whose commands are imported from ``COMMANDS`` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        found = {c.name: c for c in importlib.import_module(module).commands}
        return found.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plantbus")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Plantbus: the IT/OT integration hub for manufacturing."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    """Run the CLI; an error becomes a one-line message and its exit code
    (:mod:`plantbus.cli.exits`)."""
    try:
        code = cli(standalone_mode=False)  # ctx.exit(n) comes back as n in this mode
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Abort:
        sys.exit(int(Exit.INTERRUPTED))
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except PlantbusError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(int(for_error(err)))
    except KeyboardInterrupt:
        sys.exit(int(Exit.INTERRUPTED))
