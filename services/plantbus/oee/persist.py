"""Live OEE state to and from JSON, for the KV bucket that makes restarts lose nothing.

One value per machine (``machine.<site>.<area>.<line>.<machine>``: its open shift and work
order, mapper baselines, stop in progress, calendar status, revision and the inputs its
reorder window still held) and one shared value (``state``: the recent downtime episodes,
the reasons people gave them, the calendar times). Each records the telemetry stream
sequence it includes. Closed shifts and orders are not saved (they were published as
final snapshots), so no value grows with time.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from typing import Any

from plantbus.oee.calendar import CalendarStatus
from plantbus.oee.engine import MachineTrack, OeeEngine
from plantbus.oee.events import EVENT_TYPES
from plantbus.oee.kpi import Totals
from plantbus.oee.live import LiveOee
from plantbus.oee.timeline import Input, Sample
from plantbus.v1 import oee_pb2

__all__ = [
    "MACHINE_PREFIX",
    "dump_downtimes",
    "dump_machine",
    "dump_shared",
    "load_downtimes",
    "load_machine",
    "load_shared",
    "machine_key",
]

MACHINE_PREFIX = "machine."
_INPUTS: dict[str, type[Any]] = {cls.__name__: cls for cls in (*EVENT_TYPES, Sample)}


def machine_key(machine: str) -> str:
    """The KV key of a machine's state (plant names never contain a dot)."""
    return MACHINE_PREFIX + machine.replace("/", ".")


def _totals(data: dict[str, Any]) -> Totals:
    return Totals(**data)


def _track(raw: dict[str, Any]) -> MachineTrack:
    fields = dict(raw)
    fields["totals"] = _totals(fields["totals"])
    fields["shifts"] = {k: _totals(v) for k, v in fields["shifts"].items()}
    fields["orders"] = {k: _totals(v) for k, v in fields["orders"].items()}
    return MachineTrack(**fields)


def _input(data: dict[str, Any]) -> Input:
    fields = dict(data)
    item: Input = _INPUTS[fields.pop("kind")](**fields)
    return item


def dump_machine(live: LiveOee, name: str) -> dict[str, Any]:
    """A machine's open state as plain data."""
    machine = live.machines.get(name)
    track = live.engine.machines.get(name)
    episode = live.engine.downtime.open.get(name)
    status = live.status.get(name)
    return {
        "track": track.as_dict() if track else None,
        "mapper": machine.mapper.dump() if machine and machine.mapper else None,
        "open": dump_downtimes([episode])[0] if episode else None,
        "status": [status.shift, status.breaks] if status else None,
        "revision": machine.revision if machine else 0,
        "held": [
            {"kind": type(i).__name__, **dataclasses.asdict(i)}
            for i in (live.timelines[name].held() if name in live.timelines else [])
        ],
    }


def load_machine(live: LiveOee, name: str, data: dict[str, Any]) -> None:
    """Restore what :func:`dump_machine` saved (before the first config is applied)."""
    line = name.rsplit("/", 1)[0]
    if data.get("track"):
        live.engine.machines[name] = _track(data["track"])
    if data.get("open"):
        live.engine.downtime.open[name] = load_downtimes([data["open"]])[0]
    if data.get("status"):
        live.status[name] = CalendarStatus(*data["status"])
    machine = live.machine(name, line)
    machine.revision = int(data.get("revision", 0))
    if data.get("mapper"):
        live.restored_mappers[name] = data["mapper"]
    live.timelines[name].hold([_input(i) for i in data.get("held", [])])


def dump_shared(live: LiveOee) -> dict[str, Any]:
    """What all machines share: recent downtime episodes, given reasons, calendar times."""
    return {
        "downtimes": dump_downtimes(live.engine.downtime.recent),
        "reasons": dict(live.engine.reasons),
        "calendar_ts": dict(live.calendar_ts),
    }


def load_shared(live: LiveOee, data: dict[str, Any]) -> None:
    """Restore what :func:`dump_shared` saved; a state saved whole by an older version
    (``engine``) is read too, its closed shifts and orders dropped."""
    live.engine.downtime.recent.extend(load_downtimes(data.get("downtimes", [])))
    live.engine.reasons.update(data.get("reasons", {}))
    live.calendar_ts.update(data.get("calendar_ts", {}))
    if "engine" in data:
        _load_whole(live.engine, data)
        live.restored_mappers.update(data.get("mappers", {}))


def _load_whole(engine: OeeEngine, data: dict[str, Any]) -> None:
    for name, raw in data["engine"].items():
        track = _track(raw)
        track.shifts = {
            k: v for k, v in track.shifts.items() if track.in_shift and k == track.shift
        }
        track.orders = {k: v for k, v in track.orders.items() if k == track.order}
        engine.machines[name] = track
    engine.downtime.open.update({e.machine: e for e in load_downtimes(data.get("open", []))})


def dump_downtimes(events: Iterable[oee_pb2.DowntimeEvent]) -> list[str]:
    """Downtime events as base64 protobuf, in order."""
    return [base64.b64encode(event.SerializeToString()).decode() for event in events]


def load_downtimes(data: Iterable[str]) -> list[oee_pb2.DowntimeEvent]:
    """Events saved by :func:`dump_downtimes`."""
    return [oee_pb2.DowntimeEvent.FromString(base64.b64decode(item)) for item in data]
