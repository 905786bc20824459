"""The root of the plant configuration."""

from __future__ import annotations

from pydantic import Field

from plantbus.config.base import Strict
from plantbus.config.devices import Device
from plantbus.config.plant import Site

__all__ = ["PlantConfig"]


class PlantConfig(Strict):
    """Everything governance versions: plant model, devices, tags, rules, connectors, policies.

    Each service owns its section module; cross-references are checked by
    :mod:`plantbus.governance` before a version is stored.
    """

    sites: list[Site] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
