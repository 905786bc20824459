"""gRPC translation for DeviceService."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TypeAlias

import grpc

from plantbus.config.devices import Device
from plantbus.device.runtime import DeviceRunner
from plantbus.kit import codec
from plantbus.kit.identity import require
from plantbus.kit.paging import page
from plantbus.sdk.driver import Scalar, SupportsBrowse
from plantbus.sdk.errors import ValidationFailed, WriteNotSupported
from plantbus.v1 import device_pb2, device_pb2_grpc, telemetry_pb2

if TYPE_CHECKING:
    from plantbus.device.service import DeviceService

__all__ = ["DeviceServicer"]

Context: TypeAlias = grpc.aio.ServicerContext


def _device_info(
    device: Device, state: device_pb2.ConnectionState, last_error: str
) -> device_pb2.DeviceInfo:
    return device_pb2.DeviceInfo(
        name=device.name,
        driver=device.driver,
        endpoint=device.endpoint,
        machine=device.machine,
        state=state,
        last_error=last_error,
        tags=[t.name for t in device.tags],
        poll_interval_seconds=device.poll_interval_s,
    )


def _info(runner: DeviceRunner) -> device_pb2.DeviceInfo:
    info = _device_info(runner.device, runner.state, runner.last_error)
    info.counters.CopyFrom(runner.counters)
    if runner.last_success:
        info.last_success.CopyFrom(codec.timestamp(runner.last_success))
    return info


def _failed_info(device: Device, error: str) -> device_pb2.DeviceInfo:
    """A device that cannot run (driver missing or broken, bad settings) and why."""
    return _device_info(device, device_pb2.CONNECTION_STATE_FAILED, error)


def _scalar(value: telemetry_pb2.TagValue) -> Scalar:
    result = codec.scalar(value)
    if result is None:
        raise ValidationFailed("no value given")
    return result


class DeviceServicer(device_pb2_grpc.DeviceServiceServicer):  # type: ignore[misc]
    """Thin translation to :class:`DeviceService`."""

    def __init__(self, service: DeviceService) -> None:
        self.service = service

    async def ListDevices(
        self, request: device_pb2.ListDevicesRequest, context: Context
    ) -> device_pb2.ListDevicesResponse:
        await require("device.read", "devices")
        devices = [_info(r) for r in self.service.runners.values()]
        devices += [_failed_info(d, error) for d, error in self.service.failed.values()]
        devices.sort(key=lambda d: str(d.name))
        shown, token = page(devices, request)
        return device_pb2.ListDevicesResponse(devices=shown, next_page_token=token)

    async def GetDevice(
        self, request: device_pb2.GetDeviceRequest, context: Context
    ) -> device_pb2.GetDeviceResponse:
        await require("device.read", request.name)
        if request.name in self.service.failed:
            return device_pb2.GetDeviceResponse(
                device=_failed_info(*self.service.failed[request.name])
            )
        return device_pb2.GetDeviceResponse(device=_info(self.service.runner(request.name)))

    async def ReadTags(
        self, request: device_pb2.ReadTagsRequest, context: Context
    ) -> device_pb2.ReadTagsResponse:
        await require("tag.read", request.device)
        started = time.perf_counter()
        samples = await self.service.runner(request.device).read_now(list(request.tags))
        return device_pb2.ReadTagsResponse(
            samples=samples, round_trip_ms=(time.perf_counter() - started) * 1000
        )

    async def WriteTag(
        self, request: device_pb2.WriteTagRequest, context: Context
    ) -> device_pb2.WriteTagResponse:
        who = await require("tag.write", f"{request.device}/{request.tag}")
        sample, policy = await self.service.write(
            request.device,
            request.tag,
            _scalar(request.value),
            who.name,
            request.reason,
            address=who.address,
            service=who.kind == "service",
        )
        return device_pb2.WriteTagResponse(read_back=sample, policy=policy)

    async def Browse(
        self, request: device_pb2.BrowseRequest, context: Context
    ) -> device_pb2.BrowseResponse:
        await require("device.read", request.device)
        driver = self.service.runner(request.device).driver
        if not isinstance(driver, SupportsBrowse):
            raise WriteNotSupported(f"driver {driver.manifest.name!r} cannot browse")
        nodes = await driver.browse(request.address or None)
        return device_pb2.BrowseResponse(
            nodes=[
                device_pb2.BrowseNode(
                    address=n.address,
                    name=n.name,
                    data_type=n.data_type,
                    has_children=n.has_children,
                )
                for n in nodes
            ]
        )

    async def StreamSamples(
        self, request: device_pb2.StreamSamplesRequest, context: Context
    ) -> AsyncIterator[device_pb2.StreamSamplesResponse]:
        await require("tag.read", request.device)
        queue: asyncio.Queue[tuple[str, list[telemetry_pb2.TagSample]]] = asyncio.Queue()
        self.service.listeners.add(queue)
        try:
            while True:
                device, samples = await queue.get()
                if request.device and device != request.device:
                    continue
                yield device_pb2.StreamSamplesResponse(
                    batch=telemetry_pb2.TagSampleBatch(samples=samples, device=device)
                )
        finally:
            self.service.listeners.discard(queue)
