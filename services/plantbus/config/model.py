"""The root of the plant configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import Field

from plantbus.config.alarms import AlarmManagement
from plantbus.config.alerting import AlertRule, NotifierConfig
from plantbus.config.base import Strict
from plantbus.config.devices import Device
from plantbus.config.erp import ErpConnection
from plantbus.config.historian import HistorianConfig
from plantbus.config.maintenance import MaintenanceConfig
from plantbus.config.oee import OeeMapping, OeeSettings, ShiftCalendar
from plantbus.config.plant import Site
from plantbus.config.security import Role, User, WritePolicy
from plantbus.config.sparkplug import SparkplugConfig
from plantbus.config.uns import UnsConfig

__all__ = ["PlantConfig", "checking"]

_PATHS: ContextVar[dict[int, tuple[PlantConfig, set[str]]] | None] = ContextVar(
    "plantbus_tag_paths", default=None
)
"""While checks run: the tag paths of each config, by id (the config is kept with them,
so the id stays its own)."""


@contextmanager
def checking() -> Iterator[None]:
    """Within it, ``tag_paths()`` of a config is built once: the checks of every section
    ask for it, and at 100,000 tags each build costs as much as a whole section's check."""
    token = _PATHS.set({})
    try:
        yield
    finally:
        _PATHS.reset(token)


class PlantConfig(Strict):
    """Everything governance versions: plant model, devices, tags, rules, connectors, policies.

    Each service owns its section; cross-references are checked by
    :mod:`plantbus.config.validate` before a version is stored.
    """

    sites: list[Site] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    oee: list[OeeMapping] = Field(default_factory=list)
    shift_calendars: list[ShiftCalendar] = Field(default_factory=list)
    oee_settings: OeeSettings = Field(default_factory=OeeSettings)
    alert_rules: list[AlertRule] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    alarm_management: AlarmManagement = Field(default_factory=AlarmManagement)
    erp: list[ErpConnection] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    write_policies: list[WritePolicy] = Field(default_factory=list)
    historian: HistorianConfig = Field(default_factory=HistorianConfig)
    uns: UnsConfig = Field(default_factory=UnsConfig)
    sparkplug: SparkplugConfig | None = None
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)

    def machine_paths(self) -> set[str]:
        """Every machine as site/area/line/machine."""
        return {
            f"{s.name}/{a.name}/{ln.name}/{m.name}"
            for s in self.sites
            for a in s.areas
            for ln in a.lines
            for m in ln.machines
        }

    def line_paths(self) -> set[str]:
        """Every line as site/area/line."""
        return {
            f"{s.name}/{a.name}/{ln.name}" for s in self.sites for a in s.areas for ln in a.lines
        }

    def operator_positions(self) -> dict[str, str]:
        """Area (site/area) and line (site/area/line) paths to the operator position that
        watches them, where one is set (a line's own wins over its area's)."""
        out: dict[str, str] = {}
        for s in self.sites:
            for a in s.areas:
                if a.operator_position:
                    out[f"{s.name}/{a.name}"] = a.operator_position
                for ln in a.lines:
                    if ln.operator_position:
                        out[f"{s.name}/{a.name}/{ln.name}"] = ln.operator_position
        return out

    def tag_paths(self) -> set[str]:
        """Every tag as site/area/line/machine/tag (built once per :func:`checking` block)."""
        memo = _PATHS.get()
        if memo is None:
            return {f"{d.machine}/{t.name}" for d in self.devices for t in d.tags}
        if id(self) not in memo:
            memo[id(self)] = (self, {f"{d.machine}/{t.name}" for d in self.devices for t in d.tags})
        return set(memo[id(self)][1])
