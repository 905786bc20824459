"""Checks of the ERP connections, the historian store and Sparkplug."""

from __future__ import annotations

from collections.abc import Iterator

from plantbus.config.checks.common import Finding, duplicates, plugin_settings
from plantbus.config.model import PlantConfig
from plantbus.config.secrets import parse_reference
from plantbus.plugins import ERP_CONNECTORS, HISTORIAN_STORES, discover
from plantbus.sdk.errors import PlantbusError

__all__ = ["erp", "historian", "sparkplug"]


def erp(config: PlantConfig) -> Iterator[Finding]:
    lines = {p.split("/", 1)[0] + "/" + p.rsplit("/", 1)[1] for p in config.line_paths()}
    yield from duplicates(config.erp, ("erp",), "ERP connection")
    connectors = discover(ERP_CONNECTORS)
    for i, conn in enumerate(config.erp):
        if f"{conn.site}/{conn.line}" not in lines:
            yield ("erp", i, "line"), f"unknown line {conn.line!r} in site {conn.site!r}"
        try:
            cls = connectors.get(conn.connector)
        except PlantbusError as err:
            yield ("erp", i, "connector"), str(err)
            continue
        yield from plugin_settings(cls, conn.settings, ("erp", i))


def historian(config: PlantConfig) -> Iterator[Finding]:
    section = config.historian
    try:
        cls = discover(HISTORIAN_STORES).get(section.store)
    except PlantbusError as err:
        yield ("historian", "store"), str(err)
        return
    yield from plugin_settings(cls, section.store_settings, ("historian",), "store_settings")


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
