"""Alert rules and notifiers (owned by the alerting service)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from plantbus.config.base import Name, Strict

__all__ = ["AlertRule", "NotifierConfig"]

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


class NotifierConfig(Strict):
    """A notifier plugin instance and which alarms it hears about."""

    name: Name
    plugin: str
    settings: dict[str, Any] = Field(default_factory=dict)
    min_priority: Literal["low", "medium", "high", "urgent"] = "high"
    max_per_rule_per_hour: int = Field(default=6, ge=1)
