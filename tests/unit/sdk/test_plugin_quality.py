"""Plugins declare their quality in plantbus_quality.yaml; `plantbus plugins` shows it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from plantbus_modbus.driver import ModbusDriver

from plantbus.cli.main import cli
from plantbus.plugins import Quality, quality
from plantbus.sdk.notifier import Notifier
from plantbus.testing.memory_driver import MemoryDriver

PLUGIN = """
from plantbus.sdk import API_VERSION
from plantbus.sdk.notifier import Notifier
from plantbus.sdk.plugin import PluginManifest

class Quiet(Notifier):
    manifest = PluginManifest("quiet", "0.1", API_VERSION)

    async def send(self, notification):
        pass
"""


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "plantbus_quiet"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "notifier.py").write_text(PLUGIN)
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("plantbus_quiet")]:
        del sys.modules[name]


def _quiet() -> type[Notifier]:
    return importlib.import_module("plantbus_quiet.notifier").Quiet  # type: ignore[no-any-return]


def test_built_in_plugins_declare_their_tier() -> None:
    assert quality(ModbusDriver) == Quality("silver")
    assert quality(MemoryDriver) == Quality("testing")  # installed for tests only


def test_todo_rules_are_listed_and_a_missing_file_is_none(package: Path) -> None:
    assert quality(_quiet()) is None
    (package / "plantbus_quality.yaml").write_text(
        "tier: bronze\nrules:\n  manifest: done\n  close-is-idempotent: todo\n"
        "  browse: {status: todo, comment: later}\n"
    )
    assert quality(_quiet()) == Quality("bronze", ("close-is-idempotent", "browse"))


def test_a_broken_file_is_reported_not_raised(package: Path) -> None:
    (package / "plantbus_quality.yaml").write_text("tier: [unclosed\n")
    assert quality(_quiet()) == Quality("unreadable (ParserError)")


def test_plantbus_plugins_shows_the_tier() -> None:
    out = CliRunner().invoke(cli, ["plugins"]).output
    modbus = next(line for line in out.splitlines() if " modbus " in line)
    assert "silver" in modbus and modbus.rstrip().endswith("ok")
