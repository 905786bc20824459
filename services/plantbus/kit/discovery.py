"""Finding services from the heartbeats in KV: their gRPC addresses, and when they serve."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

import nats.errors

from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.v1 import service_pb2

__all__ = ["find", "grpc_address", "wait_serving"]


async def _reachable(bus: Bus, serving_only: bool) -> dict[str, service_pb2.ServiceHeartbeat]:
    """service -> the heartbeat of one instance that has a gRPC address."""
    wanted = (
        (service_pb2.HEALTH_SERVING,)
        if serving_only
        else (service_pb2.HEALTH_SERVING, service_pb2.HEALTH_NOT_SERVING)
    )
    try:
        beats = await read_heartbeats(bus)
    except nats.errors.Error:  # NATS slow or away: the caller looks again until its deadline
        return {}
    return {hb.service: hb for hb in beats if hb.grpc_address and hb.health in wanted}


async def grpc_address(
    bus: Bus, service: str, wait_s: float = 5.0, *, serving_only: bool = True
) -> str:
    """host:port of an instance of ``service`` (by default one that is serving); see
    :func:`find`."""
    return (await find(bus, service, wait_s, serving_only=serving_only)).grpc_address


async def find(
    bus: Bus, service: str, wait_s: float = 5.0, *, serving_only: bool = True
) -> service_pb2.ServiceHeartbeat:
    """The heartbeat of an instance of ``service`` (by default one that is serving): its
    gRPC address, token address and whether it takes TLS.

    Looks again for up to ``wait_s`` (a service starting beside this one, or a heartbeat
    read that NATS did not answer under load), then raises DeviceUnavailable. With
    ``serving_only=False`` an instance that runs but reports itself degraded is taken too
    (the CLI asks a degraded service why).
    """
    deadline = time.monotonic() + wait_s
    while True:
        if hb := (await _reachable(bus, serving_only)).get(service):
            return hb
        if time.monotonic() >= deadline:
            raise DeviceUnavailable(f"no serving {service} service found on the bus")
        await asyncio.sleep(0.2)


async def wait_serving(
    bus: Bus, services: Collection[str], timeout: float
) -> dict[str, service_pb2.ServiceHeartbeat]:
    """Wait until every one of ``services`` serves; service -> heartbeat.

    Raises DeviceUnavailable naming the services still missing after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        ready = await _reachable(bus, serving_only=True)
        missing = [name for name in services if name not in ready]
        if not missing:
            return ready
        if time.monotonic() >= deadline:
            raise DeviceUnavailable(
                f"services not ready within {timeout:.0f}s: {', '.join(missing)}"
            )
        await asyncio.sleep(0.2)
