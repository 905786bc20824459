"""The ISA-18.2 alarm state machine (pure).

States: NORMAL (A), UNACK (B), ACKED (C), RTN_UNACK (D), plus SHELVED, SUPPRESSED (by
design) and OUT_OF_SERVICE, which hide an alarm from annunciation while the condition
keeps being tracked. Leaving one of those re-evaluates: a condition still true
annunciates again as a new unacknowledged alarm.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from plantbus.sdk.errors import ValidationFailed

__all__ = ["Alarm", "AlarmState"]


class AlarmState(enum.StrEnum):
    """ISA-18.2 alarm states."""

    NORMAL = "normal"
    UNACK = "unacknowledged"
    ACKED = "acknowledged"
    RTN_UNACK = "returned_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


_HIDDEN = {AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE}


@dataclass
class Alarm:
    """One alarm: a rule on one machine (or line)."""

    id: str
    rule: str
    scope: str
    priority: str = "medium"
    state: AlarmState = AlarmState.NORMAL
    active: bool = False
    """The (delayed, deadbanded) condition."""
    value: float | str | None = None
    message: str = ""
    changed_at: float = 0.0
    activations: list[float] = field(default_factory=list)
    shelved_until: float = 0.0
    shelved_by: str = ""
    note: str = ""
    """Who did the last operator action and why."""

    @property
    def hidden(self) -> bool:
        """True while shelved, suppressed or out of service."""
        return self.state in _HIDDEN

    def _set(self, state: AlarmState, now: float) -> bool:
        if state == self.state:
            return False
        self.state, self.changed_at = state, now
        return True

    def condition(self, active: bool, now: float) -> bool:
        """The condition changed (after delays); returns True when the state changed."""
        if active == self.active:
            return False
        self.active = active
        if active:
            self.activations = [t for t in self.activations if now - t < 3600] + [now]
        if self.hidden:
            return False
        if active:
            return self._set(AlarmState.UNACK, now)
        if self.state == AlarmState.UNACK:
            return self._set(AlarmState.RTN_UNACK, now)
        if self.state == AlarmState.ACKED:
            return self._set(AlarmState.NORMAL, now)
        return False

    def acknowledge(self, who: str, why: str, now: float) -> bool:
        """Operator acknowledge; ValidationFailed when there is nothing to acknowledge."""
        if self.state == AlarmState.UNACK:
            changed = self._set(AlarmState.ACKED, now)
        elif self.state == AlarmState.RTN_UNACK:
            changed = self._set(AlarmState.NORMAL, now)
        else:
            raise ValidationFailed(f"alarm {self.id} is {self.state}: nothing to acknowledge")
        self.note = f"acknowledged by {who}" + (f": {why}" if why else "")
        return changed

    def _reevaluate(self, now: float) -> None:
        self._set(AlarmState.UNACK if self.active else AlarmState.NORMAL, now)

    def shelve(self, who: str, why: str, until: float, now: float, max_s: float = math.inf) -> bool:
        """Shelve until ``until``; refused while out of service or beyond ``max_s``."""
        if self.state == AlarmState.OUT_OF_SERVICE:
            raise ValidationFailed(f"alarm {self.id} is out of service; return it to service first")
        if until <= now:
            raise ValidationFailed("shelving needs a duration > 0")
        if until - now > max_s:
            raise ValidationFailed(
                f"alarm {self.id} may be shelved for at most {max_s:g} s (rule max_shelve_s)"
            )
        self.shelved_until, self.shelved_by = until, who
        self.note = f"shelved by {who}" + (f": {why}" if why else "")
        return self._set(AlarmState.SHELVED, now)

    def unshelve(self, who: str, now: float, why: str = "") -> bool:
        """End shelving early (or at expiry, ``who`` = "expiry")."""
        if self.state != AlarmState.SHELVED:
            raise ValidationFailed(f"alarm {self.id} is not shelved")
        self.shelved_until = 0.0
        self.note = f"unshelved by {who}" + (f": {why}" if why else "")
        self._reevaluate(now)
        return True

    def expire(self, now: float) -> bool:
        """Unshelve when the shelving time ran out."""
        if self.state == AlarmState.SHELVED and now >= self.shelved_until:
            return self.unshelve("expiry", now)
        return False

    def suppress(self, suppressed: bool, now: float) -> bool:
        """Suppression by design (for example while the machine is in a planned stop)."""
        if suppressed and self.state not in (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE):
            return self._set(AlarmState.SUPPRESSED, now)
        if not suppressed and self.state == AlarmState.SUPPRESSED:
            self._reevaluate(now)
            return True
        return False

    def out_of_service(self, removed: bool, who: str, now: float) -> bool:
        """Remove from or return to service (maintenance under permit)."""
        self.note = f"{'removed from' if removed else 'returned to'} service by {who}"
        if removed:
            return self._set(AlarmState.OUT_OF_SERVICE, now)
        if self.state == AlarmState.OUT_OF_SERVICE:
            self._reevaluate(now)
            return True
        return False
