"""Plugin discovery with a good, an incompatible and a broken plugin, installed for real
as distributions with entry points on sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from plantbus.plugins import DRIVERS, NOT_IMPORTED, check_api_version, discover, plugin_infos
from plantbus.sdk.errors import PluginValidationError

DRIVER_TEMPLATE = """
from plantbus.sdk.driver import Driver, Reading
from plantbus.sdk.plugin import PluginManifest


class {cls}(Driver):
    manifest = PluginManifest(name="{name}", version="1.2.3", api_version="{api}")

    async def connect(self):
        pass

    async def read(self, tags):
        return [Reading(tag=t.name, value=1) for t in tags]

    async def close(self):
        pass
"""


def _install(site: Path, dist: str, module: str, source: str, entry: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[plantbus.drivers]\n{entry}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    _install(
        site,
        "good-driver",
        "good_driver",
        DRIVER_TEMPLATE.format(cls="Good", name="good", api="2.0"),
        "good = good_driver:Good",
    )
    _install(
        site,
        "future-driver",
        "future_driver",
        DRIVER_TEMPLATE.format(cls="Future", name="future", api="3.0"),
        "future = future_driver:Future",
    )
    _install(
        site,
        "broken-driver",
        "broken_driver",
        "raise RuntimeError('vendor bug at import')\n",
        "broken = broken_driver:Nope",
    )
    _install(
        site,
        "wrong-driver",
        "wrong_driver",
        "class NotADriver:\n    pass\n",
        "wrong = wrong_driver:NotADriver",
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in ("good_driver", "future_driver", "broken_driver", "wrong_driver"):
        sys.modules.pop(mod, None)


def test_good_plugin_loads_with_provenance(site: Path) -> None:
    registry = discover(DRIVERS)
    record = registry.records["good"]
    assert record.loaded, record.error
    assert (record.distribution, record.version, record.api_version) == (
        "good-driver",
        "1.2.3",
        "2.0",
    )
    assert registry.get("good").__name__ == "Good"


def test_incompatible_and_broken_plugins_are_reported_not_raised(site: Path) -> None:
    registry = discover(DRIVERS)
    assert "targets SDK API 3.0" in registry.records["future"].error
    assert "RuntimeError: vendor bug at import" in registry.records["broken"].error
    assert "not a subclass of Driver" in registry.records["wrong"].error
    with pytest.raises(PluginValidationError, match="vendor bug"):
        registry.get("broken")
    with pytest.raises(PluginValidationError, match="no such plugin"):
        registry.get("absent")


def test_disabled_plugin_is_skipped(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANTBUS_DISABLED_PLUGINS", "good, other")
    record = discover(DRIVERS).records["good"]
    assert not record.loaded
    assert "disabled" in record.error


@pytest.mark.parametrize(
    ("wanted", "ok"), [("1.0", True), ("1.1", False), ("0.9", False), ("x", False)]
)
def test_api_version_rule(wanted: str, ok: bool) -> None:
    if ok:
        check_api_version("p", wanted, provided="1.0")
    else:
        with pytest.raises(PluginValidationError):
            check_api_version("p", wanted, provided="1.0")


def test_lazy_registry_imports_only_what_is_asked_for(site: Path) -> None:
    registry = discover(DRIVERS, lazy=True)
    assert {"good", "future", "broken", "wrong"} <= set(registry.records)
    assert "good_driver" not in sys.modules and "broken_driver" not in sys.modules
    assert registry.records["good"].distribution == "good-driver"
    assert registry.get("good").__name__ == "Good"
    assert "good_driver" in sys.modules and "broken_driver" not in sys.modules
    with pytest.raises(PluginValidationError, match="vendor bug"):
        registry.get("broken")
    with pytest.raises(PluginValidationError, match=r"'absent': no such plugin .*good"):
        registry.get("absent")


def test_lazy_registry_reports_what_it_did_not_import(site: Path) -> None:
    registry = discover(DRIVERS, lazy=True)
    registry.get("good")
    infos = {info.name: info for info in plugin_infos(registry)}
    assert infos["good"].loaded and not infos["good"].error
    assert (infos["future"].loaded, infos["future"].error) == (False, NOT_IMPORTED)
    assert infos["future"].distribution == "future-driver"
    assert "Good" in {cls.__name__ for cls in registry.loaded().values()}
    assert "targets SDK API 3.0" in registry.records["future"].error  # loaded() imported it
