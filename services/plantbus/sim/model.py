"""The machines of the simulated line: states, counters, temperatures, seeded faults.

Pure and clock-driven (``step(now)``), so tests advance time without waiting and a
seed reproduces the same run.
"""

from __future__ import annotations

import enum
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MachineSim", "MachineState", "Planned", "Reason", "line"]


class MachineState(enum.IntEnum):
    """Values of the state register."""

    RUNNING = 1
    IDLE = 2
    DOWN = 3
    PLANNED_STOP = 4


class Reason(enum.IntEnum):
    """Values of the reason register."""

    NONE = 0
    TOOL_BREAKAGE = 101
    JAM = 102
    MATERIAL_SHORTAGE = 103
    PLANNED_MAINTENANCE = 201
    CHANGEOVER = 202
    BREAK = 203
    NO_SHIFT = 204


Planned = Callable[[], "Reason | None"]
"""Says, when asked, whether the plant plans a stop now and why (the shift calendar:
a break, no shift); None: production time."""


REGISTERS_PER_MACHINE = 100
STATE, REASON, PARTS, REJECTS, TEMP, POWER, SPEED = 0, 1, 2, 3, 4, 6, 10
FAULTS = (Reason.TOOL_BREAKAGE, Reason.JAM, Reason.MATERIAL_SHORTAGE)


def _float_words(value: float) -> tuple[int, int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


@dataclass
class MachineSim:
    """One CNC machine."""

    name: str
    cycle_time_s: float
    seed: int
    state: MachineState = MachineState.RUNNING
    reason: Reason = Reason.NONE
    parts: int = 0
    rejects: int = 0
    spindle_temp: float = 35.0
    power: float = 0.0
    speed_setpoint: int = 3000
    reject_rate: float = 0.03
    planned: Planned | None = field(default=None, repr=False)
    """The shift calendar: in a planned stop the machine stops and counts nothing."""
    _rng: random.Random = field(init=False, repr=False)
    _last: float | None = field(default=None, repr=False)
    _progress: float = field(default=0.0, repr=False)
    _until: float = field(default=0.0, repr=False)
    _next_fault: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def step(self, now: float) -> None:
        """Advance the machine to time ``now`` (seconds, any monotonic origin)."""
        if self._last is None:
            self._last = now
            self._next_fault = now + self._rng.uniform(15, 35)
            return
        dt, self._last = now - self._last, now
        stop = self.planned() if self.planned else None
        if stop is not None:
            self.state, self.reason = MachineState.PLANNED_STOP, stop
        elif self.state == MachineState.PLANNED_STOP:  # back to work after the break
            self.state, self.reason = MachineState.RUNNING, Reason.NONE
            self._next_fault = now + self._rng.uniform(25, 50)
        elif self.state == MachineState.RUNNING:
            self._run(dt)
            if now >= self._next_fault:
                self.state, self.reason = MachineState.DOWN, self._rng.choice(FAULTS)
                self._until = now + self._rng.uniform(10, 20)
        elif now >= self._until:
            self.state, self.reason = MachineState.RUNNING, Reason.NONE
            self._next_fault = now + self._rng.uniform(25, 50)
        target = 35.0 + (
            40.0 * self.speed_setpoint / 5000 if self.state == MachineState.RUNNING else 0
        )
        self.spindle_temp += (target - self.spindle_temp) * min(1.0, dt / 20)
        running = self.state == MachineState.RUNNING
        self.power = (4.0 + self.speed_setpoint / 1000 if running else 0.4) + self._rng.uniform(
            -0.1, 0.1
        )

    def _run(self, dt: float) -> None:
        speed = max(self.speed_setpoint, 1) / 3000
        self._progress += dt * speed / self.cycle_time_s
        while self._progress >= 1.0:
            self._progress -= 1.0
            self.parts = (self.parts + 1) % 65536
            if self._rng.random() < self.reject_rate:
                self.rejects = (self.rejects + 1) % 65536

    def registers(self) -> list[int]:
        """The machine's holding-register image (offsets STATE, REASON, ...)."""
        image = [0] * 12
        image[STATE], image[REASON] = int(self.state), int(self.reason)
        image[PARTS], image[REJECTS] = self.parts, self.rejects
        image[TEMP : TEMP + 2] = _float_words(self.spindle_temp)
        image[POWER : POWER + 2] = _float_words(self.power)
        image[SPEED] = self.speed_setpoint
        return image


def line(seed: int = 7, planned: Planned | None = None) -> list[MachineSim]:
    """The demo line: three machines with different rates and their own fault schedules,
    all stopping when ``planned`` says (the line's shift calendar)."""
    return [
        MachineSim("m1", cycle_time_s=2.0, seed=seed * 10 + 1, planned=planned),
        MachineSim("m2", cycle_time_s=3.0, seed=seed * 10 + 2, planned=planned),
        MachineSim("m3", cycle_time_s=1.5, seed=seed * 10 + 3, planned=planned),
    ]
