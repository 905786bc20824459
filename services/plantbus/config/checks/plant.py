"""Checks of the plant tree, the devices on its machines and the paths UNS publishes."""

from __future__ import annotations

from collections.abc import Iterator

from plantbus.config.checks.common import Finding, Loc, duplicates, plugin_settings
from plantbus.config.model import PlantConfig
from plantbus.plugins import DRIVERS, discover
from plantbus.sdk.driver import Driver
from plantbus.sdk.errors import PlantbusError

__all__ = ["devices", "plant", "uns"]


def plant(config: PlantConfig) -> Iterator[Finding]:
    yield from duplicates(config.sites, ("sites",), "site")
    for si, site in enumerate(config.sites):
        yield from duplicates(site.areas, ("sites", si, "areas"), "area")
        for ai, area in enumerate(site.areas):
            yield from duplicates(area.lines, ("sites", si, "areas", ai, "lines"), "line")
            for li, line in enumerate(area.lines):
                loc = ("sites", si, "areas", ai, "lines", li, "machines")
                yield from duplicates(line.machines, loc, "machine")


def devices(config: PlantConfig) -> Iterator[Finding]:
    machines = config.machine_paths()
    yield from duplicates(config.devices, ("devices",), "device")
    drivers = discover(DRIVERS, lazy=True)
    for di, device in enumerate(config.devices):
        loc: Loc = ("devices", di)
        if device.machine not in machines:
            yield (*loc, "machine"), f"unknown machine {device.machine!r} (not in sites)"
        yield from duplicates(device.tags, (*loc, "tags"), "tag")
        try:
            driver = drivers.get(device.driver)
        except PlantbusError as err:
            yield (*loc, "driver"), str(err)
            continue
        yield from plugin_settings(driver, device.settings, loc)
        if not issubclass(driver, Driver):
            continue
        for ti, tag in enumerate(device.tags):
            try:
                driver.validate_tag(tag.ref())
            except PlantbusError as err:
                yield (*loc, "tags", ti, "address"), str(err)


def uns(config: PlantConfig) -> Iterator[Finding]:
    known = config.tag_paths() | config.machine_paths() | config.line_paths()
    known |= {f"{s.name}/{a.name}" for s in config.sites for a in s.areas}
    known |= {s.name for s in config.sites}
    for i, entry in enumerate(config.uns.publish):
        if entry.path not in known:
            yield (
                ("uns", "publish", i, "path"),
                (
                    f"unknown plant path {entry.path!r}: name a site, area, line or machine of "
                    "sites, or a tag of devices"
                ),
            )
    users = {u.name for u in config.users}
    for mqtt_user, user in config.uns.writers.items():
        if user not in users:
            yield ("uns", "writers", mqtt_user), f"unknown user {user!r} (not in users)"
