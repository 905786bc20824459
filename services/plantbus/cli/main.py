"""Entry point of the ``plantbus`` command: the group and the registration of subcommands.

Each area owns a module in this package that exposes ``commands`` (a list of click
commands or groups); adding a module to ``COMMAND_MODULES`` registers them.
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

COMMAND_MODULES: Final = (
    "plantbus.cli.core",
    "plantbus.cli.status",
    "plantbus.cli.tail",
    "plantbus.cli.config",
    "plantbus.cli.audit",
    "plantbus.cli.sim",
    "plantbus.cli.oee",
    "plantbus.cli.alarms",
    "plantbus.cli.security",
    "plantbus.cli.erp",
    "plantbus.cli.probe",
    "plantbus.cli.device",
    "plantbus.cli.dashboard",
    "plantbus.cli.users",
    "plantbus.cli.history",
    "plantbus.cli.maintenance",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plantbus")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Plantbus: the IT/OT integration hub for manufacturing."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


for _module in COMMAND_MODULES:
    for _command in importlib.import_module(_module).commands:
        cli.add_command(_command)


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
