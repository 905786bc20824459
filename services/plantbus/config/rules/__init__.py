"""Alert rule kinds, one module each: its settings, its validation, its judgement.

A new kind is a new module here with a class deriving from :class:`RuleBase` (or
:class:`MachineRule` / :class:`TagRule`) and a ``kind`` literal, added to ``AlertRule``
below, plus its test. The alerting service and config validation dispatch through the
class's methods and never on the kind's name.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from plantbus.config.rules.base import (
    MESSAGE_FIELDS,
    LimitRule,
    MachineRule,
    MaintenanceView,
    PlanRef,
    PlantRefs,
    RuleBase,
    TagRule,
    TickView,
)
from plantbus.config.rules.maintenance import (
    AnomalyScoreRule,
    MaintenancePlanRule,
    TimeToLimitRule,
)
from plantbus.config.rules.oee_below import OeeBelowRule
from plantbus.config.rules.quality import BadQualityRule
from plantbus.config.rules.rate import RateOfChangeRule
from plantbus.config.rules.stale import StaleRule
from plantbus.config.rules.state_duration import StateDurationRule
from plantbus.config.rules.threshold import ThresholdRule

__all__ = [
    "MESSAGE_FIELDS",
    "AlertRule",
    "AnomalyScoreRule",
    "BadQualityRule",
    "LimitRule",
    "MachineRule",
    "MaintenancePlanRule",
    "MaintenanceView",
    "OeeBelowRule",
    "PlanRef",
    "PlantRefs",
    "RateOfChangeRule",
    "RuleBase",
    "StaleRule",
    "StateDurationRule",
    "TagRule",
    "ThresholdRule",
    "TickView",
    "TimeToLimitRule",
    "parse_rule",
]

AlertRule = Annotated[
    ThresholdRule
    | RateOfChangeRule
    | StaleRule
    | BadQualityRule
    | StateDurationRule
    | OeeBelowRule
    | MaintenancePlanRule
    | TimeToLimitRule
    | AnomalyScoreRule,
    Field(discriminator="kind"),
]
"""Any alert rule; its ``kind`` picks the class."""

_ADAPTER: TypeAdapter[AlertRule] = TypeAdapter(AlertRule)


def parse_rule(data: Any) -> RuleBase:
    """One rule from plain data (raises pydantic's ValidationError)."""
    rule: RuleBase = _ADAPTER.validate_python(data)
    return rule
