"""Engine state to and from JSON, for the KV bucket that makes restarts lose nothing."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from typing import Any

from plantbus.oee.engine import MachineTrack, OeeEngine
from plantbus.oee.kpi import Totals
from plantbus.v1 import oee_pb2

__all__ = ["dump_downtimes", "dump_engine", "load_downtimes", "load_engine"]


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


def dump_downtimes(events: Iterable[oee_pb2.DowntimeEvent]) -> list[str]:
    """Downtime events as base64 protobuf, in order."""
    return [base64.b64encode(event.SerializeToString()).decode() for event in events]


def load_downtimes(data: Iterable[str]) -> list[oee_pb2.DowntimeEvent]:
    """Events saved by :func:`dump_downtimes`."""
    return [oee_pb2.DowntimeEvent.FromString(base64.b64decode(item)) for item in data]
