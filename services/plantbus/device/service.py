"""The device service: runs the devices governance assigns to this instance.

Assignment (:mod:`plantbus.device.assignment`): a device whose ``instance`` is set runs
on that instance; the others are shared by rendezvous hashing of the device name over the
device-service instances that beat (``plantbus_services`` KV), re-checked every
``membership_interval_s``. When a replica stops (it retracts its heartbeat) or stops
beating (after three intervals), its devices move to the others.

Options (``ctx.options``): ``spool_dir`` (default <data_dir>/spool), ``spool_max_bytes``
(default 256 MiB, see :mod:`plantbus.device.spool` for what happens when it is full),
``backoff`` (keyword arguments of :class:`plantbus.device.runtime.Backoff`),
``membership_interval_s`` (default 2), ``call_timeout_s`` (default 10: a driver call
taking longer counts as the device being unavailable), ``max_unacked_samples`` (default
20,000: samples read or sent but not yet acknowledged by the stream before the next
device waits to be read, see :mod:`plantbus.device.publisher`; each costs about 270 bytes
until its ack, and at 50,000 tags a stream that fell behind held 50,000 of them, 13 MB).
"""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import nats.errors

from plantbus.config import PlantConfig
from plantbus.config.devices import Device
from plantbus.device.assignment import assign
from plantbus.device.publisher import TelemetryPublisher
from plantbus.device.runtime import Backoff, DeviceRunner
from plantbus.device.spool import Spool
from plantbus.device.wire import Record, sample_of
from plantbus.device.writes import tag_refusal
from plantbus.kit import codec, streams
from plantbus.kit.audit import AuditUnavailable, record_outcome
from plantbus.kit.authz import Decision, check_write
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.plugins import DRIVERS, discover, plugin_infos
from plantbus.sdk.driver import DriverContext, Scalar
from plantbus.sdk.errors import NotFound, PermissionDenied, PlantbusError, describe
from plantbus.v1 import (
    device_pb2_grpc,
    service_pb2,
    telemetry_pb2,
)

__all__ = ["DeviceService"]

_QUEUE = 1000
DENIED = service_pb2.AUDIT_OUTCOME_DENIED
FAILED = service_pb2.AUDIT_OUTCOME_FAILED
ATTEMPT = service_pb2.AUDIT_OUTCOME_ATTEMPT


def _shown(sample: telemetry_pb2.TagSample) -> str:
    """A sample's value as audited ('' when the device gave none)."""
    value = codec.scalar(sample.value)
    return "" if value is None else repr(value)


def _settle_memory() -> None:
    """Collect once, then move every object alive now (the config, the devices' tags and
    state, modules) out of the garbage collector's sight: at plant scale they are a few
    hundred thousand objects, and a full collection walking them stalled every device's
    polling for 100-400 ms a few times a minute (docs/benchmarks.md, plant scale).
    What is freed later by reference counting is freed as usual."""
    gc.collect()
    gc.freeze()


class DeviceService(Service):
    """Polls devices through driver plugins and publishes their telemetry."""

    name: ClassVar[str] = "device"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"devices"})

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.drivers = discover(DRIVERS, lazy=True)  # only the drivers devices use are imported
        spool_dir = Path(ctx.options.get("spool_dir") or ctx.data_dir / "spool")
        self.spool = Spool(spool_dir, int(ctx.options.get("spool_max_bytes", 256 * 2**20)))
        self.backoff = Backoff(**ctx.options.get("backoff", {}))
        self.publisher = TelemetryPublisher(
            ctx.bus, self.spool, max_unacked=int(ctx.options.get("max_unacked_samples", 20_000))
        )
        self.runners: dict[str, DeviceRunner] = {}
        self.failed: dict[str, tuple[Device, str]] = {}
        self.listeners: set[asyncio.Queue[tuple[str, list[telemetry_pb2.TagSample]]]] = set()
        self._config = PlantConfig()
        self._live: set[str] = set()
        self._reconciling = asyncio.Lock()

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The DeviceService servicer."""
        from plantbus.device.servicer import DeviceServicer

        return [
            GrpcBinding(
                device_pb2_grpc.add_DeviceServiceServicer_to_server,
                DeviceServicer(self),
                "plantbus.v1.DeviceService",
            )
        ]

    def plugin_infos(self) -> Sequence[service_pb2.PluginInfo]:
        """Every driver plugin, loaded or not."""
        return plugin_infos(self.drivers)

    def health(self) -> tuple[bool, str]:
        """Degraded (still serving: devices keep polling) details: spool use, a spool that
        cannot write and what it lost, and failed devices."""
        spool = self.spool
        notes = [spool.health.detail()] if spool.health.error else []
        if len(spool):
            notes.append(f"{len(spool)} samples spooled")
        if spool.dropped:
            notes.append(f"{spool.dropped} samples dropped, spool full")
        if spool.lost:
            notes.append(f"{spool.lost} samples lost, spool not writable")
        if spool.corrupt:
            notes.append(f"{spool.corrupt} corrupt spool records skipped")
        if self.failed:
            notes.append(f"{len(self.failed)} devices cannot run")
        return True, "; ".join(notes)

    async def start(self) -> None:
        """Create the telemetry stream and start replaying any spool."""
        await streams.ensure_stream(self.ctx.bus, streams.CYCLES)
        await self.publisher.start()
        self._live = await self._live_instances()
        self.tasks.spawn(self._follow_membership(), name="device-members")

    async def stop(self) -> None:
        """Stop every device; what is still spooled stays on disk."""
        await self.tasks.close()  # membership first: nothing reconciles devices from here
        await asyncio.gather(*(r.stop() for r in self.runners.values()))
        self.runners.clear()
        await self.publisher.stop()
        self.spool.close()
        await super().stop()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Start added devices, stop removed ones, restart changed ones; then set what the
        process holds aside from the garbage collector (:func:`_settle_memory`)."""
        self._config = config
        await self._reconcile()
        self.config_version = version
        _settle_memory()

    async def _reconcile(self) -> None:
        """Run exactly the devices assigned to this instance under the current membership."""
        async with self._reconciling:
            wanted = assign(self._config.devices, self.ctx.instance, self._live)
            stopping = [
                self.runners.pop(name).stop()
                for name in list(self.runners)
                if name not in wanted or wanted[name] != self.runners[name].device
            ]
            # All at once: one after another, each stop waited some loop passes behind the
            # other devices' polls, and an apply changing 1,000 devices took minutes while
            # the stream was behind, both configs alive. Shielded: a cancelled reconcile
            # must not leave devices half-stopped.
            await asyncio.shield(asyncio.gather(*stopping))
            self.failed = {n: f for n, f in self.failed.items() if n in wanted}
            for name, device in wanted.items():
                if name not in self.runners:
                    self._start(device)

    async def _live_instances(self) -> set[str]:
        """Device-service instances serving now, by their heartbeats ({} when unknown)."""
        try:
            beats = await asyncio.wait_for(read_heartbeats(self.ctx.bus), 3.0)
        except (TimeoutError, nats.errors.Error) as err:  # NATS away or slow: keep the assignment
            self.ctx.log.warning("device membership unknown: %s", describe(err))
            return self._live
        return {
            hb.instance
            for hb in beats
            if hb.service == self.name and hb.health == service_pb2.HEALTH_SERVING
        }

    async def _follow_membership(self) -> None:
        interval = float(self.ctx.options.get("membership_interval_s", 2.0))
        while True:
            await asyncio.sleep(interval)
            live = await self._live_instances()
            if live | {self.ctx.instance} != self._live | {self.ctx.instance}:
                self.ctx.log.info("device-service instances now %s", sorted(live))
                self._live = live
                await self._reconcile()

    def _start(self, device: Device) -> None:
        try:
            cls = self.drivers.get(device.driver)
            driver = cls(device.endpoint, plugin_settings(cls, device.settings))
            driver.context = DriverContext(device.name, self.ctx.hub_data_dir or self.ctx.data_dir)
        except (PlantbusError, ValueError) as err:
            self.failed[device.name] = (device, str(err))
            self.ctx.log.error("device %s cannot run: %s", device.name, err)
            return
        self.failed.pop(device.name, None)
        runner = DeviceRunner(
            device,
            driver,
            self.publisher,
            self._fan_out,
            self.backoff,
            float(self.ctx.options.get("call_timeout_s", 10.0)),
        )
        self.runners[device.name] = runner
        runner.start()

    def _fan_out(self, device: str, records: list[Record]) -> None:
        """A cycle's samples to every listener with room (decoded only when one has)."""
        queues = [q for q in self.listeners if q.qsize() < _QUEUE]
        if queues:
            samples = [sample_of(payload) for _, payload in records]
            for queue in queues:
                queue.put_nowait((device, samples))

    def runner(self, name: str) -> DeviceRunner:
        """The runner of a device; NotFound says why there is none."""
        if name in self.runners:
            return self.runners[name]
        if name in self.failed:
            raise NotFound(f"device {name!r} cannot run: {self.failed[name][1]}")
        here = ", ".join(sorted([*self.runners, *self.failed])) or "none"
        raise NotFound(
            f"device {name!r} is not run by instance {self.ctx.instance!r} (devices here: {here})"
        )

    async def write(
        self,
        device: str,
        tag: str,
        value: Scalar,
        user: str,
        reason: str,
        address: str = "",
        *,
        service: bool = False,
    ) -> tuple[telemetry_pb2.TagSample, str]:
        """Check the tag's access, type and limits, then the write policies of the running
        config for ``user`` (the authenticated caller; a ``service`` by name); audit the
        attempt (no audit, no write), write, read back, audit the outcome. Records carry the
        old, new and read-back values and the caller's address; denials and failures are
        audited too."""
        runner = self.runner(device)
        config_tag = runner.filter.tag(tag)
        if config_tag is None:
            raise NotFound(f"device {device!r} has no tag {tag!r}")
        path = runner.filter.path(tag)
        numeric = float(value) if isinstance(value, int | float) else math.nan
        if refusal := tag_refusal(path, config_tag, value):
            decision = Decision(False, refusal)
        else:
            decision = check_write(self._config, user, path, numeric, service=service)
        allowed, why, policy = decision.allowed, decision.reason, decision.policy
        detail = f"{value!r}: {why}" + (f" ({reason})" if reason else "")
        record = {"action": "tag.write", "target": path, "actor": user, "source": address}
        values = {"new": repr(value)}
        if not allowed:
            await record_outcome(self.ctx.audit, **record, outcome=DENIED, detail=detail)
            raise PermissionDenied(f"write to {path} refused: {why}")
        try:
            (before,) = await runner.read_now([tag])
            values |= {"old": _shown(before), "policy": policy}
            await self.ctx.audit(**record, outcome=ATTEMPT, detail=detail, attributes=values)
        except AuditUnavailable as err:
            self.ctx.log.error("write to %s by %s refused: %s", path, user, err)
            raise
        except PlantbusError as err:
            await record_outcome(
                self.ctx.audit, **record, outcome=FAILED, detail=f"{detail}: {err}"
            )
            raise
        try:
            sample = await runner.write(tag, value)
        except PlantbusError as err:
            await record_outcome(
                self.ctx.audit,
                **record,
                outcome=FAILED,
                detail=f"{detail}: {err}",
                attributes=values,
            )
            raise
        values["read_back"] = _shown(sample)
        await record_outcome(self.ctx.audit, **record, detail=detail, attributes=values)
        return sample, policy
