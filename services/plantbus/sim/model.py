"""The machines of the simulated line: states, counters, temperatures, vibration,
seeded faults, and a wearing spindle bearing on m2 with its failure times as ground truth.

Pure and clock-driven (``step(now)``), so tests advance time without waiting and a
seed reproduces the same run.
"""

from __future__ import annotations

import enum
import math
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from plantbus.kit.truth import Failure

__all__ = ["Bearing", "MachineSim", "MachineState", "Planned", "Reason", "line"]


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
    BEARING_FAILURE = 104
    PLANNED_MAINTENANCE = 201
    CHANGEOVER = 202
    BREAK = 203
    NO_SHIFT = 204


Planned = Callable[[], "Reason | None"]
"""Says, when asked, whether the plant plans a stop now and why (the shift calendar:
a break, no shift); None: production time."""


REGISTERS_PER_MACHINE = 100
STATE, REASON, PARTS, REJECTS, TEMP, POWER, VIBRATION, SPEED = 0, 1, 2, 3, 4, 6, 8, 10
_HOUR = 3600.0


@dataclass(frozen=True)
class Bearing:
    """A spindle bearing that wears out: from ``onset_h`` of wear time its vibration and
    heat grow (exponentially, as spalling spreads) until it fails at ``fail_h``; it is
    replaced ``repair_h`` later and the cycle starts again from the replacement.

    Wear time is the machine's time times ``speed`` (accelerated time: 120 turns a
    simulated day into 12 minutes), so the demo sees a failure within the hour while
    the rest of the line runs in real time.
    """

    onset_h: float = 24.0
    fail_h: float = 96.0
    repair_h: float = 8.0
    speed: float = 1.0
    healthy_mm_s: float = 2.0
    """Vibration velocity (RMS) of a healthy spindle while running."""
    failed_mm_s: float = 11.0
    """At failure: ISO 10816-3 zone D for a medium machine on a rigid foundation."""
    heat_c: float = 25.0
    """Extra spindle temperature at failure."""

    @property
    def period_h(self) -> float:
        """Wear hours from one replacement to the next."""
        return self.fail_h + self.repair_h

    def wear(self, hours: float) -> float:
        """0 (new) to 1 (failed) at wear time ``hours``; -1 while it is being replaced."""
        h = hours % self.period_h
        if h >= self.fail_h:
            return -1.0
        x = max(0.0, (h - self.onset_h) / (self.fail_h - self.onset_h))
        return (math.exp(3 * x) - 1) / (math.exp(3) - 1)

    def failures_h(self, until_h: float) -> list[float]:
        """Ground truth: the wear times of every failure up to ``until_h``."""
        return [
            k * self.period_h + self.fail_h
            for k in range(int(until_h // self.period_h) + 1)
            if k * self.period_h + self.fail_h <= until_h
        ]

    def truth(self, machine: str, start: float, until_s: float) -> list[Failure]:
        """Ground truth in the line's time: every failure of ``machine``'s bearing within
        ``until_s`` seconds of ``start`` (Unix seconds), and when its new one is in."""
        line_s = 3600 / self.speed  # line seconds per hour of wear
        return [
            Failure(machine, "spindle", start + h * line_s, start + (h + self.repair_h) * line_s)
            for h in self.failures_h(until_s / line_s)
        ]


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
    vibration: float = 0.0
    """Spindle vibration velocity, mm/s RMS."""
    bearing: Bearing | None = None
    """A wearing bearing (m2 of the demo line); None: a healthy spindle with noise."""
    _rng: random.Random = field(init=False, repr=False)
    _noise: random.Random = field(init=False, repr=False)
    _last: float | None = field(default=None, repr=False)
    _progress: float = field(default=0.0, repr=False)
    _until: float = field(default=0.0, repr=False)
    _next_fault: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._noise = random.Random(self.seed + 1000)  # the fault schedule stays the same

    def step(self, now: float) -> None:
        """Advance the machine to time ``now`` (seconds, any monotonic origin)."""
        if self._last is None:
            self._last = now
            self._next_fault = now + self._rng.uniform(15, 35)
            return
        dt, self._last = now - self._last, now
        wear = self.bearing.wear(now * self.bearing.speed / _HOUR) if self.bearing else 0.0
        stop = self.planned() if self.planned else None
        if wear < 0:  # failed, waiting for the new bearing (also through a break)
            self.state, self.reason = MachineState.DOWN, Reason.BEARING_FAILURE
            self._until = now
        elif stop is not None:
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
        running = self.state == MachineState.RUNNING
        heat = self.bearing.heat_c * max(wear, 0.0) if self.bearing else 0.0
        target = 35.0 + (40.0 * self.speed_setpoint / 5000 + heat if running else 0)
        self.spindle_temp += (target - self.spindle_temp) * min(1.0, dt / 20)
        self.vibration = self._vibration(running, max(wear, 0.0))
        self.power = (4.0 + self.speed_setpoint / 1000 if running else 0.4) + self._rng.uniform(
            -0.1, 0.1
        )

    def _vibration(self, running: bool, wear: float) -> float:
        healthy = self.bearing.healthy_mm_s if self.bearing else 2.0
        if not running:
            return abs(self._noise.gauss(0.05, 0.02))
        failed = self.bearing.failed_mm_s if self.bearing else healthy
        level = healthy + (failed - healthy) * wear
        return max(0.0, level * (1 + self._noise.gauss(0, 0.05)))

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
        image[VIBRATION : VIBRATION + 2] = _float_words(self.vibration)
        image[STATE], image[REASON] = int(self.state), int(self.reason)
        image[PARTS], image[REJECTS] = self.parts, self.rejects
        image[TEMP : TEMP + 2] = _float_words(self.spindle_temp)
        image[POWER : POWER + 2] = _float_words(self.power)
        image[SPEED] = self.speed_setpoint
        return image


def line(
    seed: int = 7, planned: Planned | None = None, wear_speed: float = 1.0
) -> list[MachineSim]:
    """The demo line: three machines with different rates and their own fault schedules,
    all stopping when ``planned`` says (the line's shift calendar); m2's spindle bearing
    wears out (at ``wear_speed`` times the line's time)."""
    bearing = Bearing(speed=wear_speed)
    return [
        MachineSim("m1", cycle_time_s=2.0, seed=seed * 10 + 1, planned=planned),
        MachineSim("m2", cycle_time_s=3.0, seed=seed * 10 + 2, planned=planned, bearing=bearing),
        MachineSim("m3", cycle_time_s=1.5, seed=seed * 10 + 3, planned=planned),
    ]
