"""The ``plantbus`` group imports a command's module only when that command runs, from
``COMMANDS``, which must name every command that the CLI's modules define."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click

import plantbus.cli
from plantbus.cli.main import COMMANDS, cli


def test_every_command_of_every_cli_module_is_named_with_its_module() -> None:
    defined = {}
    for info in pkgutil.iter_modules(plantbus.cli.__path__, "plantbus.cli."):
        if info.name == "plantbus.cli.__main__":  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        for command in getattr(module, "commands", []):
            assert isinstance(command, click.Command), info.name
            defined[command.name] = info.name
    assert defined == COMMANDS


def test_an_unknown_command_is_refused_with_the_known_ones_in_help() -> None:
    ctx = click.Context(cli)
    assert cli.get_command(ctx, "bogus") is None
    assert cli.list_commands(ctx) == sorted(COMMANDS)


def test_a_command_imports_its_own_module_and_not_the_others() -> None:
    probe = (
        "import sys; from plantbus.cli.main import main; sys.argv = ['plantbus', 'status', "
        "'--help']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('plantbus.cli.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = out.stdout.strip().splitlines()[-1]
    assert "'plantbus.cli.status'" in loaded
    for other in ("sim", "maintenance", "oee", "alarms", "up"):
        assert f"'plantbus.cli.{other}'" not in loaded, other
