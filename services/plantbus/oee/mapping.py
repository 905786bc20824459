"""Telemetry samples to machine events, by the OEE mappings of the plant config."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from plantbus.config.oee import OeeMapping
from plantbus.oee.counters import CumulativeCounter
from plantbus.oee.events import Count, Event, StateChange

__all__ = ["MachineMapper"]


def _reading(value: object, modulus: int) -> int | None:
    """A counter register's reading, or None when ``value`` cannot be one: not a number,
    NaN, an infinity, or outside the register's range [0, modulus) (a wild value would
    count a wrap or reset of astronomical size)."""
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return None
    raw = int(value)
    return raw if 0 <= raw < modulus else None


@dataclass
class MachineMapper:
    """Turns one machine's state, reason and counter tags into engine events."""

    mapping: OeeMapping
    line: str
    total: CumulativeCounter = field(init=False)
    reject: CumulativeCounter = field(init=False)
    rework: CumulativeCounter = field(init=False)
    reason_code: int | None = None
    state: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        self.total = CumulativeCounter(self.mapping.counter_modulus)
        self.reject = CumulativeCounter(self.mapping.counter_modulus)
        self.rework = CumulativeCounter(self.mapping.counter_modulus)

    def dump(self) -> dict[str, object]:
        """What must survive a restart: counter baselines and the last state."""
        return {
            "total": self.total.last,
            "reject": self.reject.last,
            "rework": self.rework.last,
            "reason_code": self.reason_code,
            "state": self.state,
            "reason": self.reason,
        }

    def load(self, data: dict[str, object]) -> None:
        """Restore what :meth:`dump` saved."""
        for name in ("total", "reject", "rework"):
            last = data.get(name)
            getattr(self, name).last = last if isinstance(last, int) else None
        code = data.get("reason_code")
        self.reason_code = code if isinstance(code, int) else None
        self.state, self.reason = str(data.get("state", "")), str(data.get("reason", ""))

    def _reason(self, default: str) -> str:
        if self.reason_code:
            return self.mapping.reason_codes.get(self.reason_code, f"code {self.reason_code}")
        return default

    def _state_event(self, ts: float, state: str, reason: str) -> list[Event]:
        if (state, reason) == (self.state, self.reason):
            return []
        self.state, self.reason = state, reason
        return [
            StateChange(
                ts,
                self.mapping.machine,
                self.line,
                state=state,  # type: ignore[arg-type]
                reason=reason,
            )
        ]

    def on_sample(self, tag: str, value: object, ts: float) -> list[Event]:
        """Events for one good sample of ``tag`` (none when the tag is not mapped)."""
        m = self.mapping
        if tag == m.state_tag:
            for entry in m.states:
                if entry.value == value or str(entry.value) == str(value):
                    reason = self._reason(entry.reason) if entry.state != "running" else ""
                    return self._state_event(ts, entry.state, reason)
            return self._state_event(ts, "stopped", f"unmapped state {value!r}")
        if tag == m.reason_tag and isinstance(value, int):
            self.reason_code = value
            if self.state == "stopped":
                return self._state_event(ts, "stopped", self._reason(self.reason))
            return []
        counters = {m.total_tag: "total", m.reject_tag: "reject", m.rework_tag: "rework"}
        name = counters.get(tag) if tag else None
        raw = _reading(value, m.counter_modulus)
        if name is None or raw is None:
            return []
        made = raw if m.counter_mode == "increment" else getattr(self, name).update(raw)
        if made <= 0:
            return []
        return [Count(ts, m.machine, self.line, **{name: made})]
