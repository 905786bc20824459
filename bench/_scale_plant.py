"""The plant of bench/plant_scale.py: generated machines of 50 changing tags each (100
machines in 10 lines by default, :data:`SIZES` for the larger plants), an OEE mapping and
10 alarm rules per machine, and a probe machine on a Modbus device served from the
bench's process, whose state and temperature the bench flips (:class:`Probe`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pymodbus.simulator import SimDevice

from plantbus.kit.bus import Bus
from plantbus.sim.server import Access, simulated_device
from plantbus.v1 import alerting_pb2, oee_pb2

TAGS = 50
"""Of every generated machine."""
RULES_PER_MACHINE = 10
PROBE = "p/a/l0/probe"
SHIFTS = [
    {"name": "early", "start": "06:00", "end": "14:00"},
    {"name": "late", "start": "14:00", "end": "22:00"},
    {"name": "night", "start": "22:00", "end": "06:00"},
]


@dataclass(frozen=True)
class Size:
    """How large the generated plant is."""

    lines: int
    machines: int
    """Per line."""

    @property
    def tags(self) -> int:
        return self.lines * self.machines * TAGS


SIZES = {5_000: Size(10, 10), 50_000: Size(50, 20), 500_000: Size(500, 20)}
"""The plants by their number of tags: 100, 1,000 and 10,000 machines."""
SMALL = SIZES[5_000]


def machines(size: Size = SMALL) -> list[tuple[str, str]]:
    """(line path, machine name) of every generated machine."""
    return [(f"p/a/l{line}", f"m{m}") for line in range(size.lines) for m in range(size.machines)]


def _tags() -> list[dict[str, Any]]:
    """A generated machine's tags (a new list each: the YAML holds no aliases)."""
    return [
        {"name": "state", "address": "state", "data_type": "bool"},
        {"name": "parts", "address": "parts", "data_type": "uint32"},
        *({"name": f"t{i}", "address": f"t{i}", "data_type": "float64"} for i in range(TAGS - 2)),
    ]


def _devices(size: Size, interval_s: float, probe_port: int) -> list[dict[str, Any]]:
    """One memory device per machine, polled every ``interval_s``, and the probe's."""
    devices: list[dict[str, Any]] = [
        {
            "name": f"{line.split('/')[-1]}-{m}",
            "driver": "memory",
            "endpoint": f"memory://{line}/{m}",
            "machine": f"{line}/{m}",
            "poll_interval_s": interval_s,
            "settings": {"changing": True},
            "tags": _tags(),
        }
        for line, m in machines(size)
    ]
    probe_tags = [
        {"name": "state", "address": "holding:0", "data_type": "uint16"},
        {"name": "temp", "address": "holding:1", "data_type": "uint16"},
    ]
    devices.append(
        {
            "name": "probe",
            "driver": "modbus",
            "endpoint": f"modbus://127.0.0.1:{probe_port}",
            "machine": PROBE,
            "poll_interval_s": 0.1,
            "tags": probe_tags,
        }
    )
    return devices


def _oee(size: Size) -> list[dict[str, Any]]:
    """Every machine's OEE mapping, the probe's included."""
    oee: list[dict[str, Any]] = [
        {
            "machine": f"{line}/{m}",
            "state_tag": "state",
            "states": [
                {"value": False, "state": "running"},
                {"value": True, "state": "stopped", "reason": "fault"},
            ],
            "total_tag": "parts",
            "counter_mode": "cumulative",
            "ideal_cycle_time_s": 1.0,
        }
        for line, m in machines(size)
    ]
    probe_states = [{"value": 1, "state": "running"}, {"value": 2, "state": "stopped"}]
    oee.append({"machine": PROBE, "state_tag": "state", "states": probe_states})
    return oee


def _rules(size: Size) -> list[dict[str, Any]]:
    """Limits the machines' values never reach (every sample judged, none raises), and
    the probe's, which its hot temperature raises."""
    rules: list[dict[str, Any]] = [
        {
            "name": f"high_t{i}",
            "kind": "high",
            "machine": f"{line}/{m}",
            "tag": f"t{i}",
            "limit": 1e12,
            "priority": "low",
        }
        for line, m in machines(size)
        for i in range(RULES_PER_MACHINE)
    ]
    rules.append(
        {"name": "probe_hot", "kind": "high", "machine": PROBE, "tag": "temp", "limit": 50}
    )
    return rules


def plant_files(size: Size, interval_s: float, probe_port: int) -> dict[str, Any]:
    """The plant config, one document per file as ``plantbus config apply`` reads it."""
    lines: list[dict[str, Any]] = [
        {"name": f"l{line}", "machines": [{"name": f"m{m}"} for m in range(size.machines)]}
        for line in range(size.lines)
    ]
    lines[0]["machines"].append({"name": "probe"})
    calendar = {
        "name": "day",
        "timezone": "UTC",
        "lines": [f"p/a/l{line}" for line in range(size.lines)],
        "shifts": SHIFTS,
    }
    return {
        "plant.yaml": {
            "sites": [{"name": "p", "areas": [{"name": "a", "lines": lines}]}],
            "roles": [{"name": "admin", "permissions": ["config.apply"]}],
            "users": [{"name": "admin", "roles": ["admin"]}],
        },
        "devices.yaml": {"devices": _devices(size, interval_s, probe_port)},
        "oee.yaml": {"oee": _oee(size), "shift_calendars": [calendar]},
        "alerts.yaml": {"alert_rules": _rules(size)},
    }


def write_plant(directory: Path, size: Size, interval_s: float, probe_port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in plant_files(size, interval_s, probe_port).items():
        (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


class Probe:
    """The probe machine's Modbus registers, flipped by the bench, and what came of it."""

    def __init__(self) -> None:
        self.state, self.temp = 1, 40
        self.flips: list[float] = []
        self.samples: dict[str, list[tuple[float, int]]] = {"state": [], "temp": []}
        """(source time, value) of the probe's samples."""
        self.oee: list[tuple[float, str]] = []
        """(arrival, state) of the probe's OEE snapshots."""
        self.alarms: list[float] = []
        """Arrival of the probe's alarm becoming active."""

    def access(self, request: Access) -> None:
        request.registers[0:2] = [self.state, self.temp]

    def device(self) -> SimDevice:
        return simulated_device(16, self.access)

    def flip(self) -> None:
        self.state = 2 if self.state == 1 else 1
        self.temp = 60 if self.temp == 40 else 40
        self.flips.append(time.time())

    async def watch(self, bus: Bus) -> None:
        async def on_sample(subject: str, msg: Any, raw: Any) -> None:
            for s in msg.samples:
                tag = s.path.rsplit("/", 1)[1]
                self.samples[tag].append((s.source_time.ToNanoseconds() / 1e9, s.value.int_value))

        async def on_oee(subject: str, msg: Any, raw: Any) -> None:
            if isinstance(msg, oee_pb2.OeeSnapshot) and msg.scope == PROBE:
                self.oee.append((time.time(), msg.state))

        async def on_alarm(subject: str, msg: Any, raw: Any) -> None:
            if isinstance(msg, alerting_pb2.AlarmEvent) and msg.rule == "probe_hot" and msg.active:
                self.alarms.append(time.time())

        await bus.subscribe("plantbus.v1.telemetry.p.a.l0.probe.*", on_sample)
        await bus.subscribe("plantbus.v1.oee.p.a.l0.probe", on_oee)
        await bus.subscribe("plantbus.v1.alarm.p.a.l0.probe.>", on_alarm)

    def lags(self, since: float, until: float) -> tuple[list[float], list[float]]:
        """Lags (ms) from each flip's first sample to its OEE state and to its alarm, for
        flips in [since, until); a flip whose effect never came counts as the step's length."""
        oee_lags, alarm_lags = [], []
        for flip in (f for f in self.flips if since <= f < until):
            state = next((v for t, v in self.samples["state"] if t >= flip), None)
            source = next((t for t, v in self.samples["state"] if t >= flip), None)
            if source is None or state is None:
                oee_lags.append((until - flip) * 1e3)
                continue
            want = "running" if state == 1 else "stopped"
            seen = next((t for t, s in self.oee if t >= source and s == want), None)
            oee_lags.append(((seen or until) - source) * 1e3)
            hot = next(((t, v) for t, v in self.samples["temp"] if t >= flip), None)
            if hot is not None and hot[1] == 60:
                raised = next((t for t in self.alarms if t >= hot[0]), None)
                alarm_lags.append(((raised or until) - hot[0]) * 1e3)
        return oee_lags, alarm_lags
