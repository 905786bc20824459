"""Checks of the ERP connections, the historian store and Sparkplug."""

from __future__ import annotations

from collections.abc import Iterator

from plantbus.config.checks.common import Finding, duplicates, installed_plugin
from plantbus.config.model import PlantConfig
from plantbus.config.secrets import parse_reference
from plantbus.plugins import ERP_CONNECTORS, HISTORIAN_STORES, discover

__all__ = ["erp", "historian", "sparkplug"]


def erp(config: PlantConfig) -> Iterator[Finding]:
    lines = {p.split("/", 1)[0] + "/" + p.rsplit("/", 1)[1] for p in config.line_paths()}
    yield from duplicates(config.erp, ("erp",), "ERP connection")
    connectors = discover(ERP_CONNECTORS, lazy=True)
    for i, conn in enumerate(config.erp):
        if f"{conn.site}/{conn.line}" not in lines:
            yield ("erp", i, "line"), f"unknown line {conn.line!r} in site {conn.site!r}"
        at = (("erp", i), "connector", "settings")
        yield from installed_plugin(connectors, conn.connector, conn.settings, at)


def historian(config: PlantConfig) -> Iterator[Finding]:
    section, at = config.historian, (("historian",), "store", "store_settings")
    stores = discover(HISTORIAN_STORES, lazy=True)
    yield from installed_plugin(stores, section.store, section.store_settings, at)


def sparkplug(config: PlantConfig) -> Iterator[Finding]:
    section = config.sparkplug
    if section is None:
        return
    if section.user not in {u.name for u in config.users}:
        yield ("sparkplug", "user"), f"unknown user {section.user!r} (not in users)"
    devices = {d.name for d in config.devices}
    for i, device in enumerate(section.devices):
        if device not in devices:
            yield ("sparkplug", "devices", i), f"unknown device {device!r}"
    broker = section.broker
    if broker.password:
        try:
            parse_reference(broker.password)
        except ValueError as err:
            yield ("sparkplug", "broker", "password"), str(err)
    if broker.password and not broker.username:
        yield ("sparkplug", "broker", "username"), "a password needs a username"
    if bool(broker.cert_file) != bool(broker.key_file):
        yield ("sparkplug", "broker", "key_file"), "give cert_file and key_file together"
    if not broker.tls and (broker.ca_file or broker.cert_file):
        yield ("sparkplug", "broker", "url"), "certificates need TLS: write mqtts://"
