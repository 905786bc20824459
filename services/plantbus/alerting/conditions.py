"""Rule conditions with on/off delays (pure, clock passed in)."""

from __future__ import annotations

from dataclasses import dataclass

from plantbus.config.rules import MaintenanceView, RuleBase, TickView
from plantbus.config.rules.base import number

__all__ = ["Condition"]


@dataclass
class Condition:
    """Turns a rule's raw judgements into a debounced active/inactive condition.

    The rule says whether an input is abnormal (with its deadband applied on the way
    back); the on-delay (off-delay) asks that judgement to hold continuously that long
    before the condition turns active (inactive).
    """

    rule: RuleBase
    active: bool = False
    _pending_since: float | None = None
    _last: tuple[float, float] | None = None
    """The latest good numeric sample and its time."""

    @property
    def pending(self) -> bool:
        """Whether a delay runs (the judgement changed, not held long enough yet)."""
        return self._pending_since is not None

    @property
    def last_value(self) -> float | None:
        """The latest good numeric sample, for messages of alarms raised by a delay."""
        return self._last[0] if self._last else None

    def observe(self, raw: bool, now: float) -> bool:
        """Feed the raw condition at ``now``; True when the debounced condition flipped."""
        if raw == self.active:
            self._pending_since = None
            return False
        delay = self.rule.on_delay_s if raw else self.rule.off_delay_s
        if self._pending_since is None:
            self._pending_since = now
        if now - self._pending_since >= delay:
            self.active, self._pending_since = raw, None
            return True
        return False

    def sample(self, value: object, now: float, good: bool = True) -> bool:
        """Feed a sample of the rule's tag; True when the condition flipped."""
        raw = self.rule.judge_sample(good, value, self._last, now, self.active)
        x = number(value)
        if good and x is not None:
            self._last = (x, now)
        return raw is not None and self.observe(raw, now)

    def tick(self, view: TickView, now: float) -> bool:
        """Let time pass: the rule's own time judgement, else a pending delay completes."""
        raw = self.rule.judge_tick(view, now)
        if raw is not None:
            return self.observe(raw, now)
        return self.recheck(now)

    def oee(self, scope: str, oee: float | None, now: float) -> bool:
        """Feed an OEE snapshot; True when the condition flipped."""
        raw = self.rule.judge_oee(scope, oee)
        return raw is not None and self.observe(raw, now)

    def maintenance(self, event: MaintenanceView, now: float) -> bool:
        """Feed an event of the maintenance service; True when the condition flipped."""
        raw = self.rule.judge_maintenance(event, self.active)
        return raw is not None and self.observe(raw, now)

    def recheck(self, now: float) -> bool:
        """Let a pending delay complete without a new input."""
        if self._pending_since is None:
            return False
        return self.observe(not self.active, now)
