"""The simulated line over days of simulated time, as a historian export with ground
truth: what ``plantbus maintenance backtest`` replays (pure, seeded, no servers).

Samples every ``step_s`` of state, spindle temperature and vibration of every machine,
stamped from ``start`` in simulated time (wear at the line's pace unless ``wear_speed``), in the
columns of ``plantbus history export`` (path, time, value, quality, receive_time). The
truth lists m2's bearing failures and replacements.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

from plantbus.kit.truth import Failure, iso, write_truth
from plantbus.sim.model import line

__all__ = ["TAGS", "Failure", "simulate", "write_export", "write_truth"]

TAGS: Final = ("state", "spindle_temp", "vibration")
PREFIX: Final = "demo/machining/line1"


def simulate(
    days: float,
    step_s: float = 5.0,
    seed: int = 7,
    start: float = 1_800_000_000.0,
    wear_speed: float = 1.0,
) -> tuple[list[tuple[str, float, float]], list[Failure], tuple[float, float]]:
    """(samples (path, time, value) in time order, failures, (start, end)); ``wear_speed``
    accelerates m2's wear as ``plantbus sim --wear-speed`` does."""
    machines = line(seed, wear_speed=wear_speed)
    samples: list[tuple[str, float, float]] = []
    steps = int(days * 86400 / step_s)
    for k in range(steps + 1):
        now = k * step_s
        for m in machines:
            m.step(now)
            t = start + now
            path = f"{PREFIX}/{m.name}"
            samples.append((f"{path}/state", t, float(int(m.state))))
            samples.append((f"{path}/spindle_temp", t, m.spindle_temp))
            samples.append((f"{path}/vibration", t, m.vibration))
    failures = []
    for m in machines:
        if m.bearing is not None:
            failures += m.bearing.truth(f"{PREFIX}/{m.name}", start, days * 86400)
    return samples, failures, (start, start + steps * step_s)


def write_export(path: Path, samples: list[tuple[str, float, float]]) -> None:
    """The samples as ``plantbus history export`` writes them (CSV)."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("path", "time", "value", "quality", "receive_time"))
        for tag, t, value in samples:
            writer.writerow((tag, iso(t), value, "good", iso(t)))
