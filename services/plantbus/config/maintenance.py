"""The maintenance section (owned by the maintenance service): components whose usage is
counted, condition monitors over tags, and maintenance plans with their due points.

```yaml
maintenance:
  components:
    - {machine: demo/machining/line1/m2, name: spindle, cycles_tag: parts}
  monitors:
    - {tag: demo/machining/line1/m2/vibration, states: [running], window_s: 60}
  plans:
    - {name: m2-spindle-service, machine: demo/machining/line1/m2, component: spindle,
       by: running_hours, due: 500, warning: 50}
    - {name: m2-bearing, machine: demo/machining/line1/m2, component: spindle,
       by: condition, tag: vibration, indicator: rms, limit: 7.1, warning: 24,
       propose: {tag: speed_setpoint, value: 800, when: warning}}
```
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from plantbus.config.base import Name, Strict

__all__ = [
    "INDICATORS",
    "Component",
    "Indicator",
    "MaintenanceConfig",
    "MaintenanceRequests",
    "Monitor",
    "Plan",
    "Propose",
]

Indicator = Literal["mean", "rms", "std", "peak", "slope"]
INDICATORS: tuple[Indicator, ...] = ("mean", "rms", "std", "peak", "slope")
RunState = Literal["running", "stopped", "planned_stop"]
RequestOn = Literal["warning", "due"]


class Component(Strict):
    """A part of a machine whose usage is counted (spindle, tool, pump) and reset when
    its maintenance is recorded. Every machine also has the component ``machine``."""

    machine: str
    """Path site/area/line/machine."""
    name: Name
    cycles_tag: Name | None = None
    """A part or cycle counter of the machine (cumulative, wrapping at ``counter_modulus``);
    without one, cycles count the machine's starts into running."""
    counter_modulus: int = Field(default=65536, gt=1)


class Monitor(Strict):
    """Condition indicators of one tag over windows, computed only while its machine is in
    one of ``states`` (a spindle's vibration while running, not while stopped)."""

    tag: str
    """Path site/area/line/machine/tag (a numeric tag)."""
    states: list[RunState] = Field(
        default_factory=lambda: list[RunState](["running"]), min_length=1
    )
    window_s: float = Field(default=60.0, gt=0, le=86400)
    """Each window (tumbling, by source time) gives one value of every indicator."""
    min_samples: int = Field(default=5, ge=2)
    """A window with fewer samples in the wanted states is dropped."""
    baseline_windows: int = Field(default=200, ge=10, le=100_000)
    """The anomaly baseline: the median and MAD of the residuals of this many windows."""
    learn_windows: int = Field(default=30, ge=5)
    """Windows seen before scores are published (the baseline is still learning)."""
    anomaly_threshold: float = Field(default=6.0, gt=0)
    """A window whose score reaches this is an anomaly (the robust model's score is
    |x - median| / (1.4826 MAD), a z-score)."""
    model: str = "robust"
    """``robust`` (built in) or a plugin of ``plantbus.anomaly_models``."""
    model_settings: dict[str, object] = Field(default_factory=dict)


class Propose(Strict):
    """A setpoint change a plan proposes when it reaches ``when`` (lower m2's speed while
    its spindle runs hot). A person approves it (``plantbus maintenance approve``) and it
    is written as them; it is applied without one only when a write policy grants the
    tag to the maintenance service itself, at most once per ``min_interval_s`` per tag."""

    tag: str
    """A read_write tag of the plan's machine (``speed_setpoint``) or a full
    site/area/line/machine/tag path."""
    value: float
    when: RequestOn = "warning"
    min_interval_s: float = Field(default=3600.0, gt=0)
    """Automatic writes: at most one per tag in this many seconds."""

    def path(self, machine: str) -> str:
        """The tag path, ``tag`` taken as a tag of ``machine`` unless it is a path."""
        return self.tag if "/" in self.tag else f"{machine}/{self.tag}"


class Plan(Strict):
    """When a component is due for maintenance.

    ``by``: ``running_hours``, ``cycles``, ``calendar_days`` since the last maintenance
    (``due`` in those units, ``warning`` the margin before it, same units); or
    ``condition``: the indicator ``indicator`` of the monitored ``tag`` reaching ``limit``
    (``warning`` in hours: warn when the forecast puts it that close).
    """

    name: Name
    machine: str
    component: Name = "machine"
    by: Literal["running_hours", "cycles", "calendar_days", "condition"]
    due: float | None = Field(default=None, gt=0)
    warning: float = Field(default=0.0, ge=0)
    tag: Name | None = None
    """Condition plans: the tag (of ``machine``) whose monitor gives the indicator."""
    indicator: Indicator = "rms"
    limit: float | None = None
    """Condition plans: due when the indicator reaches it (from below, or from above with
    ``falling: true``)."""
    falling: bool = False
    forecast_window_h: float = Field(default=24.0, gt=0, le=8760)
    """Condition plans: the Theil-Sen trend is fitted over this many hours of windows."""
    confidence: float = Field(default=0.9, gt=0.5, lt=1.0)
    """Condition plans: the forecast's band is this confidence interval of the slope."""
    propose: Propose | None = None
    """A setpoint change to propose when the plan reaches ``propose.when``."""

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.by == "condition":
            if self.tag is None or self.limit is None:
                raise ValueError("a condition plan needs tag and limit (and indicator: rms)")
        elif self.due is None:
            raise ValueError(f"a plan by {self.by} needs due (the {self.by} at which it is due)")
        elif self.warning >= self.due:
            raise ValueError(f"warning ({self.warning:g}) must be less than due ({self.due:g})")
        return self


class MaintenanceRequests(Strict):
    """Where maintenance requests go: a plugin of ``plantbus.maintenance_connectors``."""

    name: Name
    connector: str
    settings: dict[str, object] = Field(default_factory=dict)
    on: list[RequestOn] = Field(default_factory=lambda: list[RequestOn](["due"]), min_length=1)
    """The plan states that raise a request (once per due point)."""


class MaintenanceConfig(Strict):
    """Components, monitors, plans and request connectors."""

    components: list[Component] = Field(default_factory=list)
    monitors: list[Monitor] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    requests: list[MaintenanceRequests] = Field(default_factory=list)
