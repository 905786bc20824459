"""ISA-95 equipment hierarchy: site / area / line / machine (work unit)."""

from __future__ import annotations

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["Area", "Line", "Machine", "Site"]


class Machine(Strict):
    """A work unit: the level OEE and alarms are computed for."""

    name: Name
    description: str = ""


class Line(Strict):
    """A production line (ISA-95 work center) of machines."""

    name: Name
    description: str = ""
    machines: list[Machine] = Field(default_factory=list)
    operator_position: Name | None = None
    """The operator position watching this line's alarms (default: its area's)."""


class Area(Strict):
    """An area of a site."""

    name: Name
    lines: list[Line] = Field(default_factory=list)
    operator_position: Name | None = None
    """The operator position watching this area's alarms (default: the area itself,
    site/area); names one of ``alarm_management.positions``."""


class Site(Strict):
    """A site (plant)."""

    name: Name
    areas: list[Area] = Field(default_factory=list)
