"""The ISA-18.2 alarm state machine (pure).

States: NORMAL (A), UNACK (B), ACKED (C), RTN_UNACK (D), for latching alarms
LATCHED_UNACK (E) and LATCHED_ACKED (F), which stay until acknowledged *and* reset, plus
SHELVED, SUPPRESSED (by design) and OUT_OF_SERVICE, which hide an alarm from
annunciation while the condition keeps being tracked. Leaving one of those re-evaluates:
a condition still true annunciates again as a new unacknowledged alarm. Shelving is
timed, or one-shot (released when the condition clears, still bounded by a time); an
acknowledged alarm still active can re-alarm after ``realarm_s``.

Two clocks: ``now`` stamps what people see (``changed_at``, ``shelved_until``, wall
clock); the timers (shelving expiry, re-alarm) run on ``mono``, the process's monotonic
clock, so a wall-clock jump neither ends a shelve early nor re-alarms. ``mono`` defaults
to ``now`` for callers with a single clock (tests).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Final

from plantbus.sdk.errors import ValidationFailed

__all__ = ["PROCESS_LOCAL", "Alarm", "AlarmState"]

PROCESS_LOCAL: Final = ("shelf_ends", "acked_at", "service_ends")
"""Fields on the monotonic clock: meaningless in another process, so not stored;
:meth:`Alarm.rebase` derives them again from the wall-clock ones."""


class AlarmState(enum.StrEnum):
    """ISA-18.2 alarm states."""

    NORMAL = "normal"
    UNACK = "unacknowledged"
    ACKED = "acknowledged"
    RTN_UNACK = "returned_unacknowledged"
    LATCHED_UNACK = "latched_unacknowledged"
    LATCHED_ACKED = "latched_acknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


_HIDDEN = {AlarmState.SHELVED, AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE}
_KEPT_WHEN_SUPPRESSED = {
    AlarmState.SHELVED,
    AlarmState.OUT_OF_SERVICE,
    AlarmState.LATCHED_UNACK,  # a latch records a trip that happened: it waits for a reset
    AlarmState.LATCHED_ACKED,
}


def _by(action: str, who: str, why: str) -> str:
    """The note of an operator action: what, who and, when given, why."""
    return f"{action} by {who}" + (f": {why}" if why else "")


def _duration(duration: float, max_s: float, alarm_id: str, what: str, limit: str) -> float:
    """``duration`` when finite, > 0 and at most ``max_s``; else ValidationFailed naming
    ``what`` (shelving, removal from service) and the ``limit`` setting."""
    if not math.isfinite(duration):  # NaN passes both checks below and never expires
        raise ValidationFailed(f"{what} needs a finite duration, not {duration}")
    if duration <= 0:
        raise ValidationFailed(f"{what} needs a duration > 0")
    if duration > max_s:
        raise ValidationFailed(f"alarm {alarm_id}: {what} is for at most {max_s:g} s ({limit})")
    return duration


def _timer(now: float, mono: float | None) -> float:
    return now if mono is None else mono


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
    """When shelving ends, wall clock (shown to people, kept across restarts)."""
    shelf_ends: float = 0.0
    """When shelving ends on the monotonic clock, which expiry goes by."""
    shelved_by: str = ""
    one_shot: bool = False
    """Shelved until the condition clears (or ``shelved_until``, whichever comes first)."""
    note: str = ""
    """Who did the last operator action and why."""
    latching: bool = False
    """Stays annunciated after the condition clears until acknowledged and reset."""
    realarm_s: float = 0.0
    """An acknowledged alarm still active becomes unacknowledged again after this (0: never)."""
    acked_at: float = 0.0
    """When last acknowledged, on the monotonic clock (re-alarm counts from it)."""
    out_of_service_until: float = 0.0
    """When an out-of-service alarm returns to service, wall clock."""
    service_ends: float = 0.0
    """The same on the monotonic clock, which expiry goes by."""

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
        if self.state == AlarmState.SHELVED and self.one_shot and not active:
            return self.unshelve("one-shot release", now)
        if self.hidden:
            return False
        if active:
            return self._set(AlarmState.UNACK, now)
        if self.state == AlarmState.UNACK:
            latched = AlarmState.LATCHED_UNACK if self.latching else AlarmState.RTN_UNACK
            return self._set(latched, now)
        if self.state == AlarmState.ACKED:
            return self._set(AlarmState.LATCHED_ACKED if self.latching else AlarmState.NORMAL, now)
        return False

    def acknowledge(self, who: str, why: str, now: float, mono: float | None = None) -> bool:
        """Operator acknowledge; ValidationFailed when there is nothing to acknowledge."""
        if self.state == AlarmState.UNACK:
            changed = self._set(AlarmState.ACKED, now)
        elif self.state == AlarmState.RTN_UNACK:
            changed = self._set(AlarmState.NORMAL, now)
        elif self.state == AlarmState.LATCHED_UNACK:
            changed = self._set(AlarmState.LATCHED_ACKED, now)
        else:
            raise ValidationFailed(f"alarm {self.id} is {self.state}: nothing to acknowledge")
        self.note = _by("acknowledged", who, why)
        self.acked_at = _timer(now, mono)
        return changed

    def reset(self, who: str, why: str, now: float) -> bool:
        """Operator reset of an acknowledged latched alarm whose condition has cleared."""
        if self.state == AlarmState.LATCHED_UNACK:
            raise ValidationFailed(
                f"alarm {self.id} is latched and unacknowledged: acknowledge it first"
            )
        if self.state != AlarmState.LATCHED_ACKED:
            raise ValidationFailed(
                f"alarm {self.id} is {self.state}: only a latched alarm is reset"
            )
        self.note = _by("reset", who, why)
        return self._set(AlarmState.NORMAL, now)

    def realarm(self, now: float, mono: float | None = None) -> bool:
        """Back to unacknowledged when acknowledged, still active, for ``realarm_s``."""
        if (
            self.realarm_s > 0
            and self.state == AlarmState.ACKED
            and self.active
            and _timer(now, mono) - self.acked_at >= self.realarm_s
        ):
            self.note = f"re-alarmed after {self.realarm_s:g} s acknowledged"
            return self._set(AlarmState.UNACK, now)
        return False

    def _reevaluate(self, now: float) -> None:
        self._set(AlarmState.UNACK if self.active else AlarmState.NORMAL, now)

    def shelve(
        self,
        who: str,
        why: str,
        until: float,
        now: float,
        one_shot: bool = False,
        max_s: float = math.inf,
        mono: float | None = None,
    ) -> bool:
        """Shelve until ``until`` (one-shot: or until the condition clears); refused while
        out of service, for a duration that is not a finite number > 0, or beyond ``max_s``."""
        if self.state == AlarmState.OUT_OF_SERVICE:
            raise ValidationFailed(f"alarm {self.id} is out of service; return it to service first")
        duration = _duration(until - now, max_s, self.id, "shelving", "rule max_shelve_s")
        self.shelved_until, self.shelved_by, self.one_shot = until, who, one_shot
        self.shelf_ends = _timer(now, mono) + duration
        self.note = _by("one-shot shelved" if one_shot else "shelved", who, why)
        return self._set(AlarmState.SHELVED, now)

    def unshelve(self, who: str, now: float, why: str = "") -> bool:
        """End shelving early (or at expiry, ``who`` = "expiry")."""
        if self.state != AlarmState.SHELVED:
            raise ValidationFailed(f"alarm {self.id} is not shelved")
        self.shelved_until, self.shelf_ends, self.one_shot = 0.0, 0.0, False
        self.note = _by("unshelved", who, why)
        self._reevaluate(now)
        return True

    def expire(self, now: float, mono: float | None = None) -> bool:
        """Unshelve, or return to service, when the time ran out (on the monotonic clock)."""
        if self.state == AlarmState.SHELVED and _timer(now, mono) >= self.shelf_ends:
            return self.unshelve("expiry", now)
        if self.state == AlarmState.OUT_OF_SERVICE and _timer(now, mono) >= self.service_ends:
            return self.return_to_service("expiry", now)
        return False

    def rebase(self, now: float, mono: float) -> None:
        """Derive the monotonic times from the wall-clock ones, for an alarm restored from
        the state another process kept: what was left of the shelving and since when it
        was acknowledged carry over."""
        if self.state == AlarmState.SHELVED:
            self.shelf_ends = mono + (self.shelved_until - now)
        if self.state == AlarmState.OUT_OF_SERVICE:
            self.service_ends = mono + (self.out_of_service_until - now)
        if self.state == AlarmState.ACKED:
            self.acked_at = mono - (now - self.changed_at)

    def suppress(self, suppressed: bool, now: float, why: str = "") -> bool:
        """Suppression by design (for example while the machine is in a planned stop);
        ``why`` names the suppression in the note."""
        if suppressed and self.state not in _KEPT_WHEN_SUPPRESSED:
            changed = self._set(AlarmState.SUPPRESSED, now)
            if changed and why:
                self.note = f"suppressed by design: {why}"
            return changed
        if not suppressed and self.state == AlarmState.SUPPRESSED:
            self._reevaluate(now)
            return True
        return False

    def remove_from_service(
        self,
        who: str,
        why: str,
        until: float,
        now: float,
        *,
        max_s: float = math.inf,
        mono: float | None = None,
    ) -> bool:
        """Out of service (maintenance under permit) until ``until``, when it returns by
        itself; needs a reason and a finite duration > 0, at most ``max_s``. Ends any
        shelving; asked again while out of service, it moves the expiry."""
        if not why.strip():
            raise ValidationFailed(
                f"removing {self.id} from service needs a reason (the permit or work order)"
            )
        duration = _duration(
            until - now, max_s, self.id, "removed from service", "max_out_of_service_s"
        )
        self.shelved_until, self.shelf_ends, self.one_shot = 0.0, 0.0, False
        self.out_of_service_until = until
        self.service_ends = _timer(now, mono) + duration
        self.note = _by("removed from service", who, why)
        self._set(AlarmState.OUT_OF_SERVICE, now)
        return True

    def return_to_service(self, who: str, now: float, why: str = "") -> bool:
        """Back in service (at expiry, ``who`` = "expiry"); the condition is re-evaluated."""
        if self.state != AlarmState.OUT_OF_SERVICE:
            raise ValidationFailed(f"alarm {self.id} is not out of service")
        self.out_of_service_until, self.service_ends = 0.0, 0.0
        self.note = _by("returned to service", who, why)
        self._reevaluate(now)
        return True
