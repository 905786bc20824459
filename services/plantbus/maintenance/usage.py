"""Usage counters of a machine's components (pure): running hours from the machine
state, cycles from a part counter (or the starts), starts and stops; reset when
maintenance is recorded.

Time is source time (Unix seconds) of the state samples: running time accrues from a
``running`` sample to the next state sample, at most ``max_gap_s`` (a machine whose
state stops coming is not counted as running for ever).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = ["MAX_GAP_S", "Usage"]

MAX_GAP_S: Final = 300.0


@dataclass
class Usage:
    """One component's counters since its last recorded maintenance."""

    since: float
    """Unix seconds of the last reset (the first sight of the component before any)."""
    running_s: float = 0.0
    cycles: int = 0
    starts: int = 0
    stops: int = 0
    epoch: int = 0
    """How many times maintenance was recorded: numbers the due points (requests once per epoch)."""
    state: str = ""
    state_at: float = 0.0
    counter: int | None = None
    """The part counter's last value (None: not seen since the start)."""
    counts_starts: bool = True
    """No part counter: cycles are the starts."""
    last_note: str = ""
    last_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def observe_state(self, state: str, t: float, max_gap_s: float = MAX_GAP_S) -> None:
        """The machine reported ``state`` at ``t``."""
        if t < self.state_at:
            return  # late: the time it covers was already counted
        if self.state == "running":
            self.running_s += min(t - self.state_at, max_gap_s)
        if state != self.state and self.state:
            if state == "running":
                self.starts += 1
                if self.counts_starts:
                    self.cycles += 1
            elif self.state == "running":
                self.stops += 1
        self.state, self.state_at = state, t

    def observe_counter(self, value: int, modulus: int) -> None:
        """A cumulative part counter read ``value`` (wrapping at ``modulus``)."""
        self.counts_starts = False
        if self.counter is not None:
            self.cycles += (value - self.counter) % modulus
        self.counter = value

    def running_hours(self, now: float, max_gap_s: float = MAX_GAP_S) -> float:
        """Running hours up to ``now`` (the current run included)."""
        extra = min(max(0.0, now - self.state_at), max_gap_s) if self.state == "running" else 0.0
        return (self.running_s + extra) / 3600.0

    def days(self, now: float) -> float:
        """Calendar days since the last reset."""
        return max(0.0, now - self.since) / 86400.0

    def figures(self, now: float) -> dict[str, float]:
        """Every counter by name, as plans and requests name them."""
        return {
            "running_hours": self.running_hours(now),
            "cycles": float(self.cycles),
            "starts": float(self.starts),
            "stops": float(self.stops),
            "calendar_days": self.days(now),
        }

    def reset(self, now: float, note: str, by: str) -> None:
        """Maintenance recorded at ``now``: counters to zero, a new epoch."""
        self.running_s, self.cycles, self.starts, self.stops = 0.0, 0, 0, 0
        self.since, self.epoch = now, self.epoch + 1
        self.state_at = max(self.state_at, now)
        self.last_note, self.last_by = note, by

    def to_json(self) -> dict[str, Any]:
        """What KV keeps."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Usage:
        """Back from :meth:`to_json` (unknown keys from another version are ignored)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})
