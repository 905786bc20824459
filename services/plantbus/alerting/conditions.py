"""Rule conditions with deadband and on/off delays (pure, clock passed in)."""

from __future__ import annotations

from dataclasses import dataclass

from plantbus.config.alerting import AlertRule

__all__ = ["Condition"]


@dataclass
class Condition:
    """Turns raw observations into a debounced active/inactive condition.

    ``raw(value)`` says whether the value is abnormal, with the deadband applied on the
    way back; the on-delay (off-delay) asks the raw condition to hold continuously that
    long before the condition turns active (inactive).
    """

    rule: AlertRule
    active: bool = False
    _pending_since: float | None = None
    last_value: float | None = None
    """The latest numeric sample, for messages of alarms raised by a delay running out."""
    _last_ts: float | None = None

    def abnormal(self, value: float, now: float) -> bool:
        """The raw condition for a threshold or rate rule, with hysteresis."""
        r = self.rule
        band = r.deadband if self.active else 0.0
        if r.kind in ("high", "high_high"):
            return value >= r.limit - band
        if r.kind in ("low", "low_low"):
            return value <= r.limit + band
        if r.kind == "rate_of_change":
            rate = 0.0
            if self.last_value is not None and self._last_ts is not None and now > self._last_ts:
                rate = abs(value - self.last_value) / (now - self._last_ts)
            return rate >= r.limit - band
        return False

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

    def sample(self, value: float, now: float) -> bool:
        """Feed a numeric sample; True when the condition flipped."""
        flipped = self.observe(self.abnormal(value, now), now)
        self.last_value, self._last_ts = value, now
        return flipped

    def recheck(self, now: float) -> bool:
        """Let a pending delay complete without a new sample."""
        if self._pending_since is None:
            return False
        return self.observe(not self.active, now)
