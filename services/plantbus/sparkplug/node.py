"""The edge node's state machine: what to publish on MQTT for a birth, for telemetry, for a
dead device, and what a command asks for. Pure: the caller passes the time and publishes
the messages in the order they are returned.

Sparkplug's rules kept here (Sparkplug 3.0):

- NBIRTH carries ``bdSeq`` (the number of the MQTT session, 0..255, the same as in that
  session's Will NDEATH) and ``Node Control/Rebirth``; it has seq 0 and every later
  message of the node (DBIRTH, DDATA, DDEATH) the next seq, 255 wrapping to 0;
- DBIRTH carries every metric of the device with name, alias, datatype and value (is_null
  while no good value is known); DDATA carries only metrics whose value or null-ness
  changed (by exception), by alias;
- a device whose every tag's latest sample is BAD is dead: DDEATH, and DBIRTH again once
  one of its tags is good;
- nothing but the Will is published between sessions; a rebirth (NCMD) repeats every birth.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from plantbus.config.devices import Device
from plantbus.config.sparkplug import SparkplugConfig
from plantbus.kit import codec
from plantbus.sdk.driver import Scalar
from plantbus.sparkplug.metrics import datatype_of, put_value, value_of
from plantbus.sparkplug.sparkplug_b_pb2 import DataType as SpType
from plantbus.sparkplug.sparkplug_b_pb2 import Payload
from plantbus.v1 import telemetry_pb2

__all__ = [
    "BDSEQ",
    "NAMESPACE",
    "REBIRTH",
    "REBIRTH_ALIAS",
    "EdgeNode",
    "Outgoing",
    "Refused",
    "Write",
]

NAMESPACE: Final = "spBv1.0"
BDSEQ: Final = "bdSeq"
REBIRTH: Final = "Node Control/Rebirth"
REBIRTH_ALIAS: Final = 1
"""Aliases: 1 for the rebirth control, 2 upwards for the devices' tags in config order."""
_GOOD: Final = telemetry_pb2.QUALITY_GOOD
_BAD: Final = telemetry_pb2.QUALITY_BAD


@dataclass(frozen=True)
class Outgoing:
    """One MQTT message to publish."""

    topic: str
    payload: bytes


@dataclass(frozen=True)
class Write:
    """A DCMD metric to write: ``device``'s ``tag`` (``path`` site/.../tag) to ``value``."""

    device: str
    tag: str
    path: str
    value: Scalar


@dataclass(frozen=True)
class Refused:
    """A DCMD metric that names no tag of the device or carries no value."""

    device: str
    metric: str
    reason: str


@dataclass
class _Metric:
    tag: str
    path: str
    alias: int
    datatype: int
    value: Scalar | None = None
    quality: int = 0
    """0 until a sample arrives."""
    time_ms: int = 0
    sent: tuple[Scalar | None, bool] | None = None
    """(value, null) as last published in this session."""


@dataclass
class _Device:
    name: str
    metrics: dict[str, _Metric] = field(default_factory=dict)
    born: bool = False

    @property
    def dead(self) -> bool:
        """Every tag has a sample, and every latest sample is BAD."""
        return bool(self.metrics) and all(m.quality == _BAD for m in self.metrics.values())


def _ms(ts: object) -> int:
    try:
        return int(ts.ToMilliseconds())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return 0


class EdgeNode:
    """One Sparkplug edge node for the configured devices."""

    def __init__(self, section: SparkplugConfig, devices: Iterable[Device]) -> None:
        self.section = section
        self.base = f"{NAMESPACE}/{section.group_id}"
        wanted = set(section.devices)
        self.devices: dict[str, _Device] = {}
        self.paths: dict[str, _Metric] = {}
        alias = REBIRTH_ALIAS + 1
        for device in devices:
            if wanted and device.name not in wanted:
                continue
            dev = self.devices[device.name] = _Device(device.name)
            for tag in device.tags:
                path = f"{device.machine}/{tag.name}"
                metric = _Metric(tag.name, path, alias, datatype_of(tag))
                dev.metrics[tag.name] = self.paths[path] = metric
                alias += 1
        self.bdseq = 0
        self.online = False
        self._seq = 0

    def topic(self, kind: str, device: str = "") -> str:
        """``spBv1.0/<group>/<kind>/<edge node>[/<device>]``."""
        node = f"{self.base}/{kind}/{self.section.edge_node_id}"
        return f"{node}/{device}" if device else node

    def layout(self) -> list[tuple[str, str, str, int, int]]:
        """(device, metric, tag path, alias, datatype) of every device metric: what births
        announce, and where their values come from."""
        return [
            (dev.name, m.tag, m.path, m.alias, m.datatype)
            for dev in self.devices.values()
            for m in dev.metrics.values()
        ]

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq

    def will(self, bdseq: int, now_ms: int) -> Outgoing:
        """The NDEATH of MQTT session ``bdseq``, to register as its Will before connecting."""
        self.bdseq = bdseq
        payload = Payload(timestamp=now_ms)
        payload.metrics.add(name=BDSEQ, timestamp=now_ms, datatype=SpType.UInt64, long_value=bdseq)
        return Outgoing(self.topic("NDEATH"), payload.SerializeToString())

    def births(self, now_ms: int) -> list[Outgoing]:
        """NBIRTH (seq 0) and a DBIRTH for every device that is not dead."""
        self._seq = 0
        self.online = True
        payload = Payload(timestamp=now_ms, seq=self._next_seq())
        payload.metrics.add(
            name=BDSEQ, timestamp=now_ms, datatype=SpType.UInt64, long_value=self.bdseq
        )
        payload.metrics.add(
            name=REBIRTH,
            alias=REBIRTH_ALIAS,
            timestamp=now_ms,
            datatype=SpType.Boolean,
            boolean_value=False,
        )
        out = [Outgoing(self.topic("NBIRTH"), payload.SerializeToString())]
        for dev in self.devices.values():
            dev.born = False
            if not dev.dead:
                out.append(self._dbirth(dev, now_ms))
        return out

    def offline(self) -> None:
        """The MQTT session ended: publish nothing until the next births."""
        self.online = False

    def _fill(self, payload: Payload, metric: _Metric, now_ms: int, birth: bool) -> None:
        good = metric.quality == _GOOD
        out = payload.metrics.add(alias=metric.alias, timestamp=metric.time_ms or now_ms)
        if birth:
            out.name, out.datatype = metric.tag, metric.datatype
        put_value(out, metric.datatype, metric.value if good else None)
        metric.sent = (metric.value if good else None, not good)

    def _dbirth(self, dev: _Device, now_ms: int) -> Outgoing:
        payload = Payload(timestamp=now_ms, seq=self._next_seq())
        for metric in dev.metrics.values():
            self._fill(payload, metric, now_ms, birth=True)
        dev.born = True
        return Outgoing(self.topic("DBIRTH", dev.name), payload.SerializeToString())

    def samples(self, samples: Iterable[telemetry_pb2.TagSample], now_ms: int) -> list[Outgoing]:
        """Take telemetry; the DDATA, DDEATH and DBIRTH messages it calls for (none while
        offline)."""
        touched: dict[str, _Device] = {}
        for sample in samples:
            metric = self.paths.get(sample.path)
            if metric is None:
                continue
            metric.value = codec.scalar(sample.value)
            metric.quality = sample.quality
            metric.time_ms = _ms(sample.source_time)
            touched[sample.path.rpartition("/")[0]] = self._device_of(metric)
        if not self.online:
            return []
        return [msg for dev in touched.values() for msg in self._changes(dev, now_ms)]

    def _device_of(self, metric: _Metric) -> _Device:
        return next(d for d in self.devices.values() if d.metrics.get(metric.tag) is metric)

    def _changes(self, dev: _Device, now_ms: int) -> Iterator[Outgoing]:
        if dev.dead:
            if dev.born:
                dev.born = False
                payload = Payload(timestamp=now_ms, seq=self._next_seq())
                yield Outgoing(self.topic("DDEATH", dev.name), payload.SerializeToString())
            return
        if not dev.born:
            yield self._dbirth(dev, now_ms)
            return
        payload = Payload(timestamp=now_ms)
        for metric in dev.metrics.values():
            good = metric.quality == _GOOD
            if metric.quality and metric.sent != (metric.value if good else None, not good):
                self._fill(payload, metric, now_ms, birth=False)
        if payload.metrics:
            payload.seq = self._next_seq()
            yield Outgoing(self.topic("DDATA", dev.name), payload.SerializeToString())

    def rebirth_requested(self, raw: bytes) -> bool:
        """True when the NCMD ``raw`` sets ``Node Control/Rebirth`` (by name or alias)."""
        payload = Payload.FromString(raw)
        return any(
            (m.name == REBIRTH or (not m.name and m.alias == REBIRTH_ALIAS))
            and m.WhichOneof("value") == "boolean_value"
            and m.boolean_value
            for m in payload.metrics
        )

    def writes(self, device: str, raw: bytes) -> list[Write | Refused]:
        """What the DCMD ``raw`` for ``device`` asks to write, metric by metric."""
        dev = self.devices.get(device)
        payload = Payload.FromString(raw)
        if dev is None:
            return [
                Refused(device, m.name or f"alias {m.alias}", "unknown device")
                for m in payload.metrics
            ]
        by_alias = {m.alias: m for m in dev.metrics.values()}
        out: list[Write | Refused] = []
        for item in payload.metrics:
            label = item.name or f"alias {item.alias}"
            metric = dev.metrics.get(item.name) if item.name else by_alias.get(item.alias)
            if metric is None:
                out.append(Refused(device, label, f"device {device!r} has no metric {label!r}"))
                continue
            value = value_of(item, metric.datatype)
            if value is None:
                out.append(Refused(device, label, "the command carries no value"))
                continue
            out.append(Write(device, metric.tag, metric.path, value))
        return out
