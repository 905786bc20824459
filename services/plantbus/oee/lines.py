"""Lines as the unit OEE replicas share (a line snapshot sums its machines, so a line is
run whole by one replica), and the state each line saves in KV.

A line's state is its machines' values (:func:`plantbus.oee.persist.dump_machine`, one
key each) and its share of what they have in common (``line.<site>.<area>.<line>``: its
machines' recent downtime episodes, the reasons given to them, its calendar time), each
with the telemetry stream sequence it includes, so a replica taking the line over resumes
from there. ``state``, the whole-plant value of versions before replicas, is still read
for a line that has no value of its own yet.
"""

from __future__ import annotations

from typing import Any

from plantbus.config import PlantConfig
from plantbus.oee.live import LiveOee
from plantbus.oee.persist import MACHINE_PREFIX, dump_downtimes, load_shared

__all__ = [
    "LEGACY_KEY",
    "LINE_PREFIX",
    "dump_line",
    "line_key",
    "line_of",
    "lines_of",
    "load_line",
    "only_lines",
    "saved_line",
]

LINE_PREFIX = "line."
LEGACY_KEY = "state"


def line_of(machine: str) -> str:
    """``site/area/line`` of ``site/area/line/machine``."""
    return machine.rsplit("/", 1)[0]


def lines_of(config: PlantConfig) -> set[str]:
    """The lines with a mapped machine."""
    return {line_of(m.machine) for m in config.oee}


def only_lines(config: PlantConfig, lines: set[str]) -> PlantConfig:
    """``config`` with the OEE mappings of ``lines`` only."""
    return config.model_copy(update={"oee": [m for m in config.oee if line_of(m.machine) in lines]})


def line_key(line: str) -> str:
    """The KV key of a line's shared state (plant names never contain a dot)."""
    return LINE_PREFIX + line.replace("/", ".")


def saved_line(key: str) -> str | None:
    """The line a KV key holds state of (a machine's or the line's), None for others."""
    if key.startswith(MACHINE_PREFIX):
        return line_of(key.removeprefix(MACHINE_PREFIX).replace(".", "/"))
    if key.startswith(LINE_PREFIX):
        return key.removeprefix(LINE_PREFIX).replace(".", "/")
    return None


def dump_line(live: LiveOee, line: str) -> dict[str, Any]:
    """A line's share of the shared state (the downtime episodes of its machines)."""
    episodes = [d for d in live.engine.downtime.recent if line_of(d.machine) == line]
    ids = {d.id for d in episodes}
    return {
        "downtimes": dump_downtimes(episodes),
        "reasons": {k: v for k, v in live.engine.reasons.items() if k in ids},
        "calendar_ts": {k: v for k, v in live.calendar_ts.items() if k == line},
    }


def load_line(live: LiveOee, data: dict[str, Any]) -> None:
    """Restore what :func:`dump_line` (or, whole-plant, ``dump_shared``) saved."""
    load_shared(live, data)
