"""Alert rules and notifiers (owned by the alerting service); the rule kinds are in
:mod:`plantbus.config.rules`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from plantbus.config.base import Name, Strict
from plantbus.config.rules import MESSAGE_FIELDS, AlertRule, parse_rule

__all__ = ["MESSAGE_FIELDS", "AlertRule", "NotifierConfig", "parse_rule"]


class NotifierConfig(Strict):
    """A notifier plugin instance and which alarms it hears about."""

    name: Name
    plugin: str
    settings: dict[str, Any] = Field(default_factory=dict)
    min_priority: Literal["low", "medium", "high", "urgent"] = "high"
    max_per_rule_per_hour: int = Field(default=6, ge=1)
