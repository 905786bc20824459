"""Finding another service's gRPC address from the heartbeats in KV."""

from __future__ import annotations

from plantbus.sdk.bus import Bus
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.sdk.heartbeat import read_heartbeats
from plantbus.v1 import service_pb2

__all__ = ["grpc_address"]


async def grpc_address(bus: Bus, service: str) -> str:
    """host:port of a serving instance of ``service``; raises when none beats."""
    for hb in await read_heartbeats(bus):
        if hb.service == service and hb.health == service_pb2.HEALTH_SERVING and hb.grpc_address:
            return hb.grpc_address
    raise DeviceUnavailable(f"no serving {service} service found on the bus")
