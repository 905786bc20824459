"""Cross-reference checks that a schema cannot express: unique names, references to
machines and tags that exist, drivers and connectors that are installed, and plugin
settings that their own models accept, with references (never values) in secret fields
and finite numbers only, as in the rest of the config. One module per section in
:mod:`plantbus.config.checks`; a new section's checks go there and in ``_CHECKS``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from plantbus.config.checks import alerting, integrations, maintenance, oee, plant, security
from plantbus.config.checks.common import Finding
from plantbus.config.model import PlantConfig, checking

__all__ = ["Finding", "cross_check"]

_CHECKS: tuple[Callable[[PlantConfig], Iterator[Finding]], ...] = (
    plant.plant,
    plant.devices,
    oee.oee,
    alerting.alerts,
    alerting.alarm_management,
    integrations.erp,
    integrations.historian,
    integrations.sparkplug,
    security.security,
    plant.uns,
    maintenance.maintenance,
)
"""In the order their findings are listed."""


def cross_check(config: PlantConfig) -> list[Finding]:
    """Every cross-reference problem in ``config`` as (location, message)."""
    with checking():
        return [finding for check in _CHECKS for finding in check(config)]
