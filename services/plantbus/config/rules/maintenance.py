"""``maintenance``, ``anomaly_score``, ``time_to_limit``: alarms from the maintenance
service's events (``plantbus.v1.maintenance.<site>.<area>.<line>.<machine>``).

Each kind judges those events only: a plan reaching its warning margin or due point, a
window's anomaly score, a condition plan's forecast. A recorded maintenance that restarts
what a rule watches (the plan's counters and trend, the tag's baseline) clears it; from
there on the alarm runs through the same lifecycle as every other (acknowledge, shelve,
out of service, latching).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from plantbus.config.base import Name
from plantbus.config.rules.base import Finding, MachineRule, MaintenanceView, PlantRefs

__all__ = ["AnomalyScoreRule", "MaintenancePlanRule", "TimeToLimitRule"]


class _PlanRule(MachineRule):
    """A rule about one maintenance plan of the machine."""

    plan: Name

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The machine must exist and have the plan."""
        found = list(super().check(refs))
        yield from found
        ref = refs.plans.get(self.plan)
        if not found and (ref is None or ref.machine != self.machine):
            have = sorted(name for name, p in refs.plans.items() if p.machine == self.machine)
            yield (
                "plan",
                f"machine {self.machine!r} has no maintenance plan {self.plan!r} "
                + (f"(its plans: {', '.join(have)})" if have else "(add it to maintenance.plans)"),
            )

    def restarted(self, event: MaintenanceView) -> bool:
        """A recorded maintenance restarted this plan."""
        return event.kind == "done" and self.plan in event.restarted_plans


class MaintenancePlanRule(_PlanRule):
    """Abnormal while the plan is at ``level`` (warning: its warning margin or due) until
    its maintenance is recorded (or a condition plan's trend turns back to ok)."""

    kind: Literal["maintenance"]
    level: Literal["warning", "due"] = "warning"
    message: str = "{rule} on {machine}: maintenance plan at {value:.6g}"

    def judge_maintenance(self, event: MaintenanceView, active: bool) -> bool | None:
        """The plan's level changes and its recorded maintenance."""
        if self.restarted(event):
            return False
        if event.plan != self.plan or event.kind not in ("warning", "due", "ok"):
            return None
        return event.kind == "due" or (event.kind == "warning" and self.level == "warning")


class TimeToLimitRule(_PlanRule):
    """Abnormal while the condition plan's forecast puts its indicator at the limit within
    ``horizon_h`` hours."""

    kind: Literal["time_to_limit"]
    horizon_h: float = Field(gt=0)
    message: str = "{rule} on {machine}: limit forecast in {value:.0f} h"

    @property
    def shown_limit(self) -> float:
        """The horizon in hours."""
        return self.horizon_h

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The plan must be a condition plan (only those are forecast)."""
        found = list(super().check(refs))
        yield from found
        ref = refs.plans.get(self.plan)
        if not found and ref is not None and ref.by != "condition":
            yield "plan", f"plan {self.plan!r} is by {ref.by}; only condition plans are forecast"

    def judge_maintenance(self, event: MaintenanceView, active: bool) -> bool | None:
        """The plan's forecasts (none heading for the limit: normal) and its recorded
        maintenance."""
        if self.restarted(event):
            return False
        if event.plan != self.plan or event.kind != "forecast":
            return None
        return event.hours is not None and event.hours <= self.horizon_h


class AnomalyScoreRule(MachineRule):
    """Abnormal while the anomaly score of the monitored ``tag`` is at or above ``limit``
    (default: the monitor's ``anomaly_threshold``), with a deadband on the way back."""

    kind: Literal["anomaly_score"]
    tag: Name
    limit: float | None = Field(default=None, gt=0)
    deadband: float = Field(default=0.0, ge=0)
    message: str = "{rule} on {machine}: anomaly score {value:.1f}"

    @property
    def monitored(self) -> str:
        """site/area/line/machine/tag."""
        return f"{self.machine}/{self.tag}"

    @property
    def shown_limit(self) -> float | None:
        """The limit, when set here."""
        return self.limit

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The machine must exist and its tag have a condition monitor."""
        found = list(super().check(refs))
        yield from found
        if not found and self.monitored not in refs.monitors:
            yield (
                "tag",
                (
                    f"tag {self.monitored!r} has no condition monitor (add it to "
                    "maintenance.monitors)"
                ),
            )

    def judge_maintenance(self, event: MaintenanceView, active: bool) -> bool | None:
        """The tag's windows with a score, and a recorded maintenance that restarted its
        baseline."""
        if event.kind == "done" and self.monitored in event.restarted_tags:
            return False
        if event.kind != "window" or event.tag != self.monitored or event.score is None:
            return None
        limit = event.threshold if self.limit is None else self.limit
        return event.score >= limit - (self.deadband if active else 0.0)
