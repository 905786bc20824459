"""What every alert rule kind shares, and the two views a kind judges against.

A kind is one class: its settings (pydantic fields), its validation against the plant
(``check``) and its judgement (``judge_sample``, ``judge_tick``, ``judge_oee``,
``judge_maintenance``: pure, the clock passed in). Each judgement returns the raw
condition (True: abnormal) or None when the input says nothing to this kind; debouncing
(delays, latching) is the alarm's business.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import Field, field_validator

from plantbus.config.base import Name, Strict

__all__ = [
    "MESSAGE_FIELDS",
    "LimitRule",
    "MachineRule",
    "MaintenanceView",
    "PlanRef",
    "PlantRefs",
    "RuleBase",
    "TagRule",
    "TickView",
]

MESSAGE_FIELDS = ("rule", "machine", "value", "limit")
"""The placeholders a rule's message template may use."""

Finding = tuple[str, str]
"""(field, what is wrong)."""


@dataclass(frozen=True)
class PlantRefs:
    """The names a rule may refer to, from the plant config."""

    machines: frozenset[str]
    tags: frozenset[str]
    lines: frozenset[str]
    plans: Mapping[str, PlanRef] = field(default_factory=dict)
    """Maintenance plans by name."""
    monitors: frozenset[str] = frozenset()
    """The tags (site/area/line/machine/tag) with a condition monitor."""


@dataclass(frozen=True)
class MaintenanceView:
    """One event of the maintenance service (``plantbus.v1.MaintenanceEvent``), as the
    rules judge it."""

    kind: str
    """window, anomaly, forecast, warning, due, ok or done."""
    machine: str
    plan: str = ""
    """The plan of forecast, warning, due and ok."""
    tag: str = ""
    """site/area/line/machine/tag of a window or anomaly."""
    score: float | None = None
    """A window's anomaly score (None while the baseline learns)."""
    threshold: float = 0.0
    """The monitor's anomaly threshold."""
    hours: float | None = None
    """A forecast's hours until the limit (None: not heading for it)."""
    value: float | None = None
    """What the alarm message shows: the score, the hours or the plan's value."""
    restarted_plans: frozenset[str] = frozenset()
    """done: the plans whose counters (and trends) the recorded maintenance restarted."""
    restarted_tags: frozenset[str] = frozenset()
    """done: the monitored tags whose baselines it restarted."""


@dataclass(frozen=True)
class PlanRef:
    """What a rule needs to know of a maintenance plan."""

    machine: str
    by: str
    """running_hours, cycles, calendar_days or condition."""


class TickView(Protocol):
    """What the alerting service knows between samples."""

    def seconds_since_good(self, tag_path: str, now: float) -> float:
        """How long ``tag_path`` has had no good sample (0 when never seen yet)."""
        ...

    def seconds_in_state(self, machine: str, state: str, now: float) -> float:
        """How long ``machine`` has been in ``state`` (0 when it is not)."""
        ...


class RuleBase(Strict):
    """One alarm definition; the fields every kind has."""

    name: Name
    kind: str
    on_delay_s: float = Field(default=0.0, ge=0)
    off_delay_s: float = Field(default=0.0, ge=0)
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

    @property
    def scope(self) -> str:
        """The machine (or line) path the alarm belongs to."""
        raise NotImplementedError

    @property
    def tag_path(self) -> str | None:
        """The tag whose samples this rule judges, if any."""
        return None

    @property
    def shown_limit(self) -> float | None:
        """What the message's ``{limit}`` shows."""
        return None

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """What in this rule refers to something the plant does not have."""
        return iter(())

    def judge_sample(
        self, good: bool, value: object, last: tuple[float, float] | None, now: float, active: bool
    ) -> bool | None:
        """A sample of ``tag_path``; ``last`` is the previous numeric (value, time)."""
        return None

    def judge_tick(self, view: TickView, now: float) -> bool | None:
        """The passing of time."""
        return None

    def judge_oee(self, scope: str, oee: float | None) -> bool | None:
        """An OEE snapshot of ``scope`` (``oee`` is None when not yet known)."""
        return None

    def judge_maintenance(self, event: MaintenanceView, active: bool) -> bool | None:
        """An event of the maintenance service."""
        return None


class MachineRule(RuleBase):
    """A rule about one machine."""

    machine: str
    """Path site/area/line/machine."""

    @property
    def scope(self) -> str:
        """The machine."""
        return self.machine

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The machine must exist."""
        if self.machine not in refs.machines:
            yield "machine", f"unknown machine {self.machine!r}"


class TagRule(MachineRule):
    """A rule about one tag of a machine."""

    tag: Name

    @property
    def tag_path(self) -> str:
        """site/area/line/machine/tag."""
        return f"{self.machine}/{self.tag}"

    def check(self, refs: PlantRefs) -> Iterator[Finding]:
        """The machine and its tag must exist."""
        found = list(super().check(refs))
        yield from found
        if not found and self.tag_path not in refs.tags:
            yield "tag", f"machine {self.machine!r} has no tag {self.tag!r}"


class LimitRule(TagRule):
    """A rule comparing good numeric samples with a limit, with a deadband once active."""

    limit: float
    deadband: float = Field(default=0.0, ge=0)

    @property
    def shown_limit(self) -> float:
        """The limit."""
        return self.limit

    def judge_sample(
        self, good: bool, value: object, last: tuple[float, float] | None, now: float, active: bool
    ) -> bool | None:
        """Only good numbers count; the kind compares them (``beyond``)."""
        x = number(value)
        if not good or x is None:
            return None
        return self.beyond(x, self.deadband if active else 0.0, last, now)

    def beyond(self, x: float, band: float, last: tuple[float, float] | None, now: float) -> bool:
        """True when ``x`` is past the limit moved back by ``band``."""
        raise NotImplementedError


def number(value: object) -> float | None:
    """``value`` as a float when it is a number (bools are not), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
