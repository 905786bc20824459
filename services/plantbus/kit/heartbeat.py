"""Heartbeats: each hosted service announces itself on plantbus.v1.svc.<service>.<instance>
and in the KV bucket ``plantbus_services``, which ``plantbus status`` reads.

Freshness never compares the sender's clock with ours (hosts disagree by seconds or
minutes): a reader judges a heartbeat by when *it* saw the KV entry change, on its own
monotonic clock (:class:`Liveness`).
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus import __version__
from plantbus.kit import codec, kv_keys, streams, subjects
from plantbus.kit.bus import Bus
from plantbus.kit.service import Service
from plantbus.v1 import service_pb2

__all__ = ["HeartbeatPublisher", "Liveness", "read_heartbeats", "services_kv"]

MISSED_BEATS = 3
"""A heartbeat whose entry has not changed for this many of its intervals is stale."""


async def services_kv(bus: Bus) -> KeyValue:
    """The bucket of latest heartbeats (entries expire when their instance stops beating)."""
    return await streams.open_bucket(bus, streams.SERVICES)


@dataclass(eq=False)
class HeartbeatPublisher:
    """Builds and sends the heartbeat of every service hosted by one runner."""

    bus: Bus
    services: Sequence[Service]
    instance: str
    grpc_address: str
    interval_s: float
    config_note: Callable[[], str] = str
    """Added to the health detail of services that follow config (a refused version)."""
    _: KW_ONLY
    grpc_tls: bool = False
    grpc_token_address: str = ""
    started: Timestamp = field(init=False, default_factory=codec.now)
    stopping: bool = field(init=False, default=False)
    _kv: KeyValue | None = field(init=False, default=None)

    def build(self, service: Service) -> service_pb2.ServiceHeartbeat:
        """The current heartbeat of one hosted service."""
        serving, detail = service.reported_health()
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


class Liveness:
    """Which heartbeat entries are live, by when this process saw each one change.

    An entry is live while its KV revision changed within ``MISSED_BEATS`` of its
    intervals of ``clock`` (monotonic, this process's). An entry seen for the first time
    counts as live: the bucket's TTL (``streams.SERVICES``, on the server's clock) bounds
    how long a stopped instance's last beat stays, so a one-shot reader (``plantbus
    status``) may list one for up to that long; a running service drops it after
    ``MISSED_BEATS`` intervals.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[int, float]] = {}
        """Key -> (revision, when this process first saw that revision)."""

    def live(self, key: str, revision: int, interval_s: float) -> bool:
        """Whether entry ``key``, now at ``revision``, is live."""
        now = self._clock()
        seen = self._seen.get(key)
        if seen is None or seen[0] != revision:
            seen = self._seen[key] = (revision, now)
        return now - seen[1] <= MISSED_BEATS * max(interval_s, 1.0)

    def keep(self, keys: Iterable[str]) -> None:
        """Forget every entry but ``keys`` (the others left the bucket)."""
        wanted = set(keys)
        self._seen = {k: v for k, v in self._seen.items() if k in wanted}


_LIVENESS: weakref.WeakKeyDictionary[Bus, Liveness] = weakref.WeakKeyDictionary()
"""One per connection, shared by every reader in the process that uses it."""


async def read_heartbeats(bus: Bus) -> list[service_pb2.ServiceHeartbeat]:
    """Latest heartbeat of every live instance (see :class:`Liveness`).

    Raises ``nats.errors.Error`` when NATS does not answer: an empty list means that no
    instance beats, which callers act on (a replica alone takes every scope, ``plantbus
    status`` says nothing runs), so a read that failed must not look like one.
    """
    liveness = _LIVENESS.setdefault(bus, Liveness())
    kv = await services_kv(bus)
    keys = await kv_keys.keys(kv)
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
        if liveness.live(key, entry.revision or 0, hb.interval_seconds):
            out.append(hb)
    liveness.keep(keys)
    return sorted(out, key=lambda h: (h.service, h.instance))
