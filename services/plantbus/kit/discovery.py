"""Finding another service's gRPC address from the heartbeats in KV."""

from __future__ import annotations

import asyncio
import time

from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.v1 import service_pb2

__all__ = ["grpc_address"]


async def grpc_address(bus: Bus, service: str, wait_s: float = 5.0) -> str:
    """host:port of a serving instance of ``service``.

    Looks again for up to ``wait_s`` (a service starting beside this one, or a heartbeat
    read that came back empty under load), then raises DeviceUnavailable.
    """
    deadline = time.monotonic() + wait_s
    while True:
        for hb in await read_heartbeats(bus):
            if (
                hb.service == service
                and hb.health == service_pb2.HEALTH_SERVING
                and hb.grpc_address
            ):
                return hb.grpc_address
        if time.monotonic() >= deadline:
            raise DeviceUnavailable(f"no serving {service} service found on the bus")
        await asyncio.sleep(0.2)
