"""Alarm management (owned by the alerting service): operator positions, the ISA-18.2 /
EEMUA 191 performance limits, suppression by design and out-of-service bounds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from plantbus.config.base import Name, Strict

__all__ = [
    "AlarmActiveCondition",
    "AlarmManagement",
    "MachineStateCondition",
    "OperatorPosition",
    "Suppression",
    "TagCondition",
]


class OperatorPosition(Strict):
    """A console (or desk) one operator watches; areas and lines name it with
    ``operator_position``. Alarm rates and floods are counted per position."""

    name: Name
    description: str = ""


class MachineStateCondition(Strict):
    """True while the machine is in one of ``states`` (as the OEE mapping decodes them)."""

    kind: Literal["machine_state"]
    machine: str
    states: list[str] = Field(min_length=1)


class TagCondition(Strict):
    """True while the tag's latest good value passes every test given (at least one): one
    of ``equals``, above ``above``, below ``below`` (both: a range)."""

    kind: Literal["tag"]
    tag: str
    """Path site/area/line/machine/tag."""
    equals: list[float | str] = Field(default_factory=list)
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _some_test(self) -> TagCondition:
        if not self.equals and self.above is None and self.below is None:
            raise ValueError("a tag condition needs equals, above or below")
        return self


class AlarmActiveCondition(Strict):
    """True while another alarm's condition is active (first-out: a trip hides the alarms
    it causes)."""

    kind: Literal["alarm_active"]
    alarm: str
    """Alarm id rule@scope."""


SuppressCondition = Annotated[
    MachineStateCondition | TagCondition | AlarmActiveCondition, Field(discriminator="kind")
]


class Suppression(Strict):
    """Suppression by design: while ``when`` holds, the alarms matching ``alarms`` (globs
    over alarm ids rule@scope) are suppressed; their conditions are still tracked."""

    name: Name
    when: SuppressCondition
    alarms: list[str] = Field(min_length=1)


class AlarmManagement(Strict):
    """Positions and limits of the alarm-performance figures (``plantbus alarms metrics``);
    the defaults are ISA-18.2's and EEMUA 191's usual values, each a site choice."""

    positions: list[OperatorPosition] = Field(default_factory=list)
    period_s: float = Field(default=600.0, gt=0)
    """The period alarm rates are counted over (10 minutes)."""
    period_limit: int = Field(default=10, ge=1)
    """A period with more alarms than this counts as above the target."""
    flood_start: int = Field(default=10, ge=1)
    """A flood starts when a position's last ``period_s`` holds more alarms than this..."""
    flood_end: int = Field(default=5, ge=1)
    """... and ends when it holds fewer than this."""
    chatter_count: int = Field(default=3, ge=2)
    chatter_window_s: float = Field(default=60.0, gt=0)
    """``chatter_count`` activations within this makes an alarm chattering."""
    fleeting_s: float = Field(default=2.0, gt=0)
    """An activation that clears sooner than this is fleeting."""
    stale_s: float = Field(default=24 * 3600.0, gt=0)
    """An alarm active longer than this is stale."""
    top: int = Field(default=10, ge=1)
    """How many bad actors (most frequent alarms) to list."""
    max_out_of_service_s: float = Field(default=30 * 86400.0, gt=0)
    """Longest an alarm may be removed from service at once."""
    suppressions: list[Suppression] = Field(default_factory=list)

    @model_validator(mode="after")
    def _flood_hysteresis(self) -> AlarmManagement:
        if self.flood_end > self.flood_start:
            raise ValueError(
                f"flood_end ({self.flood_end}) must not exceed flood_start ({self.flood_start})"
            )
        return self
