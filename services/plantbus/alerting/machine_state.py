"""The state each machine is in and since when (pure).

Two sources feed it: the machine's state tag, decoded with the OEE mapping of the config
(so alarms work without the OEE service), and the OEE snapshots. Both speak the same
states, so a repeated state keeps its start time whichever source reports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from plantbus.config.oee import OeeMapping

__all__ = ["MachineStates"]


def _code(value: object) -> str:
    """One spelling per state-tag value: 3, 3.0 and "3" are the same code."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class MachineStates:
    """Machine path -> (state, since)."""

    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    """State tag path -> tag value code -> state."""
    since: dict[str, tuple[str, float]] = field(default_factory=dict)

    def configure(self, mappings: Iterable[OeeMapping]) -> None:
        """Take the state tags and their codes from the OEE mappings."""
        self.codes = {
            f"{m.machine}/{m.state_tag}": {_code(s.value): s.state for s in m.states}
            for m in mappings
        }

    def from_tag(self, path: str, value: object) -> tuple[str, str] | None:
        """(machine, state) when ``path`` is a mapped state tag and ``value`` a known code."""
        codes = self.codes.get(path)
        state = codes.get(_code(value)) if codes else None
        if state is None:
            return None
        return path.rsplit("/", 1)[0], state

    def observe(self, machine: str, state: str, now: float) -> bool:
        """Record the state reported at ``now``; True when it changed."""
        previous = self.since.get(machine)
        if previous is not None and previous[0] == state:
            return False
        self.since[machine] = (state, now)
        return True

    def held(self, machine: str, state: str, now: float) -> float:
        """How long ``machine`` has been in ``state`` (0 when it is not in it)."""
        current, since = self.since.get(machine, ("", now))
        return now - since if current == state else 0.0

    def state_of(self, machine: str) -> str:
        """The state ``machine`` is in ("" when none was reported)."""
        return self.since.get(machine, ("", 0.0))[0]
