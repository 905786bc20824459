"""One device's life: connect, poll at its interval, publish, and on failure mark its tags
bad, back off with jitter (capped) and demote a device that keeps failing to a slow schedule.

Every driver call runs under a timeout, so a hanging driver never stalls anything but
its own device.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from plantbus.config.devices import Device
from plantbus.device.convert import to_raw
from plantbus.device.publisher import TelemetryPublisher
from plantbus.device.samples import SampleFilter
from plantbus.device.wire import Record, sample_of
from plantbus.kit import telemetry as otel
from plantbus.kit.tasks import cancel
from plantbus.sdk.driver import Driver, Reading, Scalar, SupportsSubscribe, TagRef
from plantbus.sdk.errors import DeviceUnavailable, DriverConfigError, NotFound, PlantbusError
from plantbus.v1 import device_pb2, telemetry_pb2

__all__ = ["Backoff", "DeviceRunner"]

log = logging.getLogger(__name__)
_meter = otel.meter("plantbus.device")
_tracer = otel.tracer("plantbus.device")
_SAMPLES = _meter.create_counter(
    "plantbus.device.samples", description="Tag samples handed to the bus or the spool"
)
_POLL_ERRORS = _meter.create_counter(
    "plantbus.device.poll_errors", description="Failed connects and reads"
)
_READ_SECONDS = _meter.create_histogram(
    "plantbus.device.read_duration", unit="s", description="Round trip of one batch read"
)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential back-off with full jitter; demotion after ``demote_after`` failures."""

    initial_s: float = 0.5
    max_s: float = 30.0
    demote_after: int = 5
    demoted_s: float = 60.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure."""
        if failures >= self.demote_after:
            return float(self.demoted_s * rng.uniform(0.8, 1.2))
        return float(rng.uniform(0.5, 1.0) * min(self.max_s, self.initial_s * 2 ** (failures - 1)))


@dataclass(eq=False)
class DeviceRunner:
    """Polls one device in its own task."""

    device: Device
    driver: Driver
    publisher: TelemetryPublisher
    listeners: Callable[[str, list[Record]], None]
    backoff: Backoff = Backoff()
    call_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        device = self.device
        self.epoch = uuid.uuid4().hex[:12]
        """Names this run's sample sequences (they restart at 1) in message ids."""
        self.refs = tuple(t.ref() for t in device.tags)
        """The same tuple on every poll, so drivers can cache their plan for it."""
        self.filter = SampleFilter(
            device.machine, list(device.tags), device.refresh_s, device.name, self.epoch
        )
        self.state = device_pb2.CONNECTION_STATE_CONNECTING
        self.last_error = ""
        self.last_success = 0.0
        self.counters = device_pb2.DeviceCounters()
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._rng: random.Random | None = None
        """The back-off's jitter, made at the first failure (2.5 KB a device)."""
        self._connected = False
        """Between a connect and the next failure or stop (a flag: nothing waits for it,
        and an asyncio.Event costs 860 bytes a device)."""
        self._stopping = False
        self._attributes = {"device": device.name}
        self._poll_span = f"read {device.name}"

    def start(self) -> None:
        """Start polling in the background."""
        self._task = asyncio.create_task(self._run(), name=f"device-{self.device.name}")

    async def stop(self) -> None:
        """Stop polling and close the driver; safe to call twice.

        nats-py swallows a CancelledError that lands inside ``publish`` while it flushes,
        so the loops also check ``_stopping`` (and :func:`cancel` cancels until it ends).
        """
        self._stopping = True
        task, self._task = self._task, None
        await cancel(task, self.call_timeout_s)
        await self._close()

    async def _close(self) -> None:
        self._connected = False
        try:
            await asyncio.wait_for(self.driver.close(), self.call_timeout_s)
        except Exception as err:  # noqa: BLE001 - the plugin boundary: a broken close is logged
            log.warning("device %s: driver close failed: %s", self.device.name, err)

    async def _call(self, what: str, coro: Any) -> Any:
        """Await a driver call under the timeout, in this task: ``wait_for`` ran each in a
        task of its own, an extra task and loop pass per poll of every device."""
        try:
            async with asyncio.timeout(self.call_timeout_s):
                return await coro
        except TimeoutError:
            raise DeviceUnavailable(
                f"{what} took longer than {self.call_timeout_s:g}s (device or driver hung)"
            ) from None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._call("connect", self.driver.connect())
                if self.failures:
                    self.counters.reconnects += 1
                    log.info("device %s: back after %d failures", self.device.name, self.failures)
                self.failures = 0
                self.state = device_pb2.CONNECTION_STATE_CONNECTED
                self._connected = True
                await self._poll_forever()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the plugin boundary: any driver error
                await self._failed(err)

    async def _failed(self, err: Exception) -> None:
        self.failures += 1
        self.counters.poll_errors += 1
        _POLL_ERRORS.add(1, self._attributes)
        detail = str(err) if isinstance(err, PlantbusError) else f"{type(err).__name__}: {err}"
        if not isinstance(err, PlantbusError):
            log.exception("device %s: driver bug", self.device.name)
        elif self.failures == 1:
            log.warning("device %s unavailable: %s", self.device.name, detail)
        self.last_error = detail
        # Whatever publishing raises here, this task must go on: it alone retries the
        # device (ending it left a device nobody polled reporting CONNECTED).
        try:
            await self._publish([Reading.bad(r.name, detail) for r in self.refs])
        except Exception as publish_err:  # noqa: BLE001 - see above
            log.error("device %s: bad quality not published: %s", self.device.name, publish_err)
        await self._close()
        self._rng = self._rng or random.Random(self.device.name)
        delay = self.backoff.delay(self.failures, self._rng)
        demoted = self.failures >= self.backoff.demote_after
        self.state = (
            device_pb2.CONNECTION_STATE_DEMOTED if demoted else device_pb2.CONNECTION_STATE_RETRYING
        )
        await asyncio.sleep(delay)
        self.state = device_pb2.CONNECTION_STATE_CONNECTING

    def _pushes(self) -> bool:
        mode = self.device.mode
        return mode == "subscribe" or (
            mode == "auto" and isinstance(self.driver, SupportsSubscribe)
        )

    async def _follow_forever(self) -> None:
        """Push mode: the driver hands readings over as they change; each interval
        publishes what arrived as one batch, and a full read every ``refresh_s`` checks the
        link (its failure takes the reconnect path, which subscribes again)."""
        if not isinstance(self.driver, SupportsSubscribe):
            raise DriverConfigError(
                f"device {self.device.name!r}: mode subscribe, but driver "
                f"{self.driver.manifest.name!r} cannot subscribe"
            )
        pushed: list[Reading] = []
        await self._call(
            "subscribe",
            self.driver.subscribe(self.refs, pushed.append, self.device.poll_interval_s),
        )
        next_check = time.monotonic()
        while not self._stopping:
            if time.monotonic() >= next_check:
                pushed.extend(await self._call("read", self.driver.read(self.refs)))
                self.counters.polls += 1
                self.last_success = time.time()
                next_check = time.monotonic() + self.device.refresh_s
            if pushed:
                batch = pushed[:]
                pushed.clear()
                with otel.producing(_tracer, self._poll_span, self._attributes):
                    await self._publish(batch)
            await asyncio.sleep(self.device.poll_interval_s)

    async def _poll_forever(self) -> None:
        if self._pushes():
            await self._follow_forever()
            return
        interval = self.device.poll_interval_s
        next_at = None
        while not self._stopping:
            with otel.producing(_tracer, self._poll_span, self._attributes):
                await self._poll_once()
            if next_at is None:  # the first poll is now, the next on this device's phase
                now = time.monotonic()
                next_at = now + (self._phase(interval) - now) % interval
            else:
                next_at += interval
            delay = next_at - time.monotonic()
            if delay < 0:  # overrun: skip the missed cycles instead of bursting
                next_at = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)

    async def _poll_once(self) -> None:
        """Read every tag and publish, once the publisher has room for them; the readings
        are dropped on return, not held by the loop's frame while it sleeps (at 1,000 tags
        a device, 10 devices held 1.7 MB)."""
        async with self.publisher.room(self.counters, len(self.refs)):
            started = time.perf_counter()
            readings = await self._call("read", self.driver.read(self.refs))
            _READ_SECONDS.record(time.perf_counter() - started, self._attributes)
            self.counters.polls += 1
            self.last_success = time.time()
            await self._publish(readings)

    def _phase(self, interval: float) -> float:
        """Where in every ``interval`` this device is polled (on the monotonic clock), the
        same for a device name on every run: devices of one interval are spread over it
        instead of all polled at once, which would queue their requests at shared
        gateways and their samples in this service, and show as jitter."""
        return interval * zlib.crc32(self.device.name.encode()) / 2**32

    async def _publish(self, readings: Sequence[Reading], force: bool = False) -> list[Record]:
        now, mono = time.time(), time.monotonic()
        accept = self.filter.accept
        records = [m for r in readings if (m := accept(r, now, force, mono)) is not None]
        if records:
            self.counters.bad_tags = self.filter.bad_tags()
            await self.publisher.publish(records, self.counters, otel.traceparent())
            self.counters.samples_published += len(records)
            _SAMPLES.add(len(records), self._attributes)
            self.listeners(self.device.name, records)
        return records

    def _refs(self, names: Sequence[str]) -> list[TagRef]:
        if not names:
            return list(self.refs)
        by_name = {r.name: r for r in self.refs}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise NotFound(f"device {self.device.name!r} has no tag {missing[0]!r}")
        return [by_name[n] for n in names]

    async def read_now(self, names: Sequence[str]) -> list[telemetry_pb2.TagSample]:
        """Fresh samples for ``names`` (all when empty), published too, deadband bypassed."""
        if not self._connected:
            raise DeviceUnavailable(
                f"device {self.device.name!r} is not connected: {self.last_error}"
            )
        readings = await self._call("read", self.driver.read(self._refs(names)))
        records = await self._publish(readings, force=True)  # keeps the sequences gap-free
        return [sample_of(payload) for _, payload in records]

    async def write(self, name: str, value: Scalar) -> telemetry_pb2.TagSample:
        """Write (already authorised) and return the value read back."""
        (ref,) = self._refs([name])
        if not self._connected:
            raise DeviceUnavailable(
                f"device {self.device.name!r} is not connected: {self.last_error}"
            )
        config = self.filter.tag(name)
        assert config is not None  # _refs found it: every ref is a tag of the device
        await self._call("write", self.driver.write(ref, to_raw(config, value)))
        (sample,) = await self.read_now([name])
        return sample
