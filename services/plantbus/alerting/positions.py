"""Which operator position watches an alarm (pure): the line's ``operator_position``,
else its area's, else the area itself (site/area)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantbus.alerting.metrics import area_of

__all__ = ["Positions"]


@dataclass(frozen=True)
class Positions:
    """Area and line paths -> position name, from ``PlantConfig.operator_positions``."""

    assigned: Mapping[str, str] = field(default_factory=dict)

    def of(self, scope: str) -> str:
        """The position of a machine or line path."""
        line = "/".join(scope.split("/")[:3])
        return self.assigned.get(line) or self.assigned.get(area_of(scope)) or area_of(scope)
