"""Heartbeats: each hosted service announces itself on plantbus.v1.svc.<service>.<instance>
and in the KV bucket ``plantbus_services``, which ``plantbus status`` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus import __version__
from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import Bus
from plantbus.kit.service import Service
from plantbus.v1 import service_pb2

__all__ = ["HeartbeatPublisher", "read_heartbeats", "services_kv"]


async def services_kv(bus: Bus) -> KeyValue:
    """The bucket of latest heartbeats (entries expire when their instance stops beating)."""
    return await streams.open_bucket(bus, streams.SERVICES)


class HeartbeatPublisher:
    """Builds and sends the heartbeat of every service hosted by one runner."""

    def __init__(
        self,
        bus: Bus,
        services: Sequence[Service],
        instance: str,
        grpc_address: str,
        interval_s: float,
        config_note: Callable[[], str] = str,
        *,
        grpc_tls: bool = False,
        grpc_token_address: str = "",
    ) -> None:
        self.bus = bus
        self.config_note = config_note
        """Added to the health detail of services that follow config (a refused version)."""
        self.services = services
        self.instance = instance
        self.grpc_address = grpc_address
        self.grpc_tls = grpc_tls
        self.grpc_token_address = grpc_token_address
        self.interval_s = interval_s
        self.started = codec.now()
        self.stopping = False
        self._kv: KeyValue | None = None

    def build(self, service: Service) -> service_pb2.ServiceHeartbeat:
        """The current heartbeat of one hosted service."""
        serving, detail = service.health()
        if service.follows_config and (note := self.config_note()):
            detail = f"{detail}; {note}" if detail else note
        if self.stopping:
            health = service_pb2.HEALTH_STOPPING
        else:
            health = service_pb2.HEALTH_SERVING if serving else service_pb2.HEALTH_NOT_SERVING
        return service_pb2.ServiceHeartbeat(
            service=service.name,
            instance=self.instance,
            version=__version__,
            health=health,
            health_detail=detail,
            grpc_address=self.grpc_address,
            config_version=service.config_version,
            plugins=list(service.plugin_infos()),
            time=codec.now(),
            started=self.started,
            interval_seconds=self.interval_s,
            pid=os.getpid(),
            follows_config=service.follows_config,
            grpc_tls=self.grpc_tls,
            grpc_token_address=self.grpc_token_address,
        )

    async def beat(self) -> None:
        """Send one heartbeat per hosted service."""
        if not self.bus.connected:
            return
        if self._kv is None:
            self._kv = await services_kv(self.bus)
        for service in self.services:
            hb = self.build(service)
            await self.bus.publish(subjects.heartbeat(service.name, self.instance), hb)
            await self._kv.put(f"{service.name}.{self.instance}", hb.SerializeToString())

    async def retract(self) -> None:
        """Remove this runner's entries so status stops listing it at once."""
        if self._kv is None or not self.bus.connected:
            return
        for service in self.services:
            with contextlib.suppress(KeyNotFoundError):
                await self._kv.delete(f"{service.name}.{self.instance}")


async def read_heartbeats(bus: Bus) -> list[service_pb2.ServiceHeartbeat]:
    """Latest heartbeat of every instance that beat within three of its intervals."""
    kv = await services_kv(bus)
    try:
        # bounded: nats-py's keys() can wait forever while the bucket is being written
        keys = await asyncio.wait_for(kv.keys(), 5)
    except Exception:  # noqa: BLE001 - NoKeysError (not exported stably) when empty, or timeout
        return []
    now = time.time()
    out = []
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            continue
        if not entry.value:
            continue
        hb = service_pb2.ServiceHeartbeat()
        hb.ParseFromString(entry.value)
        age = now - hb.time.ToSeconds()
        if age <= 3 * max(hb.interval_seconds, 1.0):
            out.append(hb)
    return sorted(out, key=lambda h: (h.service, h.instance))
