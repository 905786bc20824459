"""Engine state to and from JSON, for the KV bucket that makes restarts lose nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

from plantbus.oee.engine import MachineTrack, OeeEngine
from plantbus.oee.kpi import Totals

__all__ = ["dump_engine", "load_engine"]


def dump_engine(engine: OeeEngine) -> dict[str, Any]:
    """Every machine track as plain data."""
    return {name: dataclasses.asdict(track) for name, track in engine.machines.items()}


def _totals(data: dict[str, Any]) -> Totals:
    return Totals(**data)


def load_engine(engine: OeeEngine, data: dict[str, Any]) -> None:
    """Restore machine tracks saved by :func:`dump_engine`."""
    for name, raw in data.items():
        fields = dict(raw)
        fields["totals"] = _totals(fields["totals"])
        fields["shifts"] = {k: _totals(v) for k, v in fields["shifts"].items()}
        fields["orders"] = {k: _totals(v) for k, v in fields["orders"].items()}
        engine.machines[name] = MachineTrack(**fields)
