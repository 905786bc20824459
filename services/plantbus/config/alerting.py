"""Alert rules and notifiers (owned by the alerting service)."""

from __future__ import annotations

import string
from typing import Any, Literal

from pydantic import Field, field_validator

from plantbus.config.base import Name, Strict

__all__ = ["MESSAGE_FIELDS", "AlertRule", "NotifierConfig"]

MESSAGE_FIELDS = ("rule", "machine", "value", "limit")
"""The placeholders a rule's message template may use."""

RuleKind = Literal[
    "high",
    "low",
    "high_high",
    "low_low",
    "rate_of_change",
    "stale",
    "bad_quality",
    "state_duration",
    "oee_below",
]


class AlertRule(Strict):
    """One alarm definition over a machine's telemetry or a line's KPIs."""

    name: Name
    kind: RuleKind
    machine: str = ""
    """Path site/area/line/machine (for telemetry rules)."""
    line: str = ""
    """Path site/area/line (for oee_below)."""
    tag: Name | None = None
    limit: float = 0.0
    deadband: float = Field(default=0.0, ge=0)
    on_delay_s: float = Field(default=0.0, ge=0)
    off_delay_s: float = Field(default=0.0, ge=0)
    window_s: float = Field(default=60.0, gt=0)
    """Rate-of-change and KPI window, or stale timeout."""
    state: Literal["running", "stopped", "planned_stop"] = "stopped"
    """For state_duration: the state held too long."""
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    message: str = "{rule} on {machine}: {value}"
    suppress_in_planned_stop: bool = True
    max_shelve_s: float = Field(default=8 * 3600.0, gt=0)
    """Longest shelving an operator may ask for (ISA-18.2: shelving is time-limited)."""
    latching: bool = False
    """Stays annunciated after the condition clears until acknowledged and reset."""
    realarm_s: float = Field(default=0.0, ge=0)
    """An acknowledged alarm still active is annunciated again after this (0: never)."""

    @field_validator("message")
    @classmethod
    def _known_placeholders(cls, template: str) -> str:
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
        except ValueError as err:
            raise ValueError(f"message template {template!r} is malformed: {err}") from None
        unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in MESSAGE_FIELDS)
        if unknown:
            raise ValueError(
                f"message template uses {', '.join(unknown)}; "
                f"known placeholders: {', '.join(MESSAGE_FIELDS)}"
            )
        return template


class NotifierConfig(Strict):
    """A notifier plugin instance and which alarms it hears about."""

    name: Name
    plugin: str
    settings: dict[str, Any] = Field(default_factory=dict)
    min_priority: Literal["low", "medium", "high", "urgent"] = "high"
    max_per_rule_per_hour: int = Field(default=6, ge=1)
