"""The device cycles the maintenance service reads: only those of the machines with a tag
it uses (a state tag of an OEE mapping, a component's cycles tag, a monitored tag), on
their machines' cycle subjects, kept in step with the config.

At plant scale most cycles hold none of those tags (a machine's state is published when
it changes and on refresh, its other 49 tags every cycle), so a message is decoded only
when the bytes of one of its machine's wanted paths occur in it: a protobuf string is
its bytes, so a cycle without them cannot hold such a sample (one that has them is
decoded and its samples checked one by one, as before).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import nats.errors
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.kit import subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus, decode
from plantbus.sdk.errors import ValidationFailed
from plantbus.v1 import telemetry_pb2

__all__ = ["CycleFeed"]

log = logging.getLogger("plantbus.maintenance")

Handler = Callable[[telemetry_pb2.TagSampleBatch], Awaitable[None]]


def _machine_of(subject: str) -> str:
    """``site/area/line/machine`` of a cycle subject ``plantbus.v1.cycle.s.a.l.m.device``."""
    return "/".join(subject.split(".")[3:7])


class CycleFeed:
    """Core NATS subscriptions to the cycle subjects of the machines of the paths followed
    (one per machine), handing ``handler`` each batch that may hold one of them."""

    def __init__(self, bus: Bus, handler: Handler) -> None:
        self._bus = bus
        self.handler = handler
        # the span name as when it subscribed to every cycle (docs/architecture.md)
        self._consumption = otel.Consumption(f"receive {subjects.PREFIX}.cycle.>")
        self._subs: dict[str, Subscription] = {}
        self._paths: dict[str, tuple[bytes, ...]] = {}
        """Machine -> its followed tag paths, as the bytes a sample carries."""
        self._by_subject: dict[str, tuple[bytes, ...]] = {}
        """The same by cycle subject (a device's), filled as they come."""

    @property
    def machines(self) -> list[str]:
        """The machines whose cycles are read, sorted."""
        return sorted(self._subs)

    async def follow(self, paths: Iterable[str]) -> None:
        """Read the cycles of the machines of ``paths`` (tag paths) from now on: a machine
        kept keeps its subscription (nothing missed or read twice), one no longer named
        loses it."""
        by_machine: dict[str, list[bytes]] = {}
        for path in paths:
            by_machine.setdefault(path.rpartition("/")[0], []).append(path.encode())
        self._paths = {m: tuple(sorted(p)) for m, p in by_machine.items()}
        self._by_subject = {}
        for machine in set(self._subs) - set(self._paths):
            await self._unsubscribe(self._subs.pop(machine))
        for machine in sorted(set(self._paths) - set(self._subs)):
            self._subs[machine] = await self._bus.nc.subscribe(
                subjects.cycles_of(machine), cb=self._on_msg
            )

    async def stop(self) -> None:
        """Read nothing more."""
        for sub in self._subs.values():
            await self._unsubscribe(sub)
        self._subs = {}

    @staticmethod
    async def _unsubscribe(sub: Subscription) -> None:
        with contextlib.suppress(nats.errors.Error):  # the connection is gone already
            await sub.unsubscribe()

    async def _on_msg(self, raw: Msg) -> None:
        paths = self._by_subject.get(raw.subject)
        if paths is None:
            paths = self._by_subject[raw.subject] = self._paths.get(_machine_of(raw.subject), ())
        data = raw.data
        if not any(path in data for path in paths):
            return
        try:
            batch = decode(data, raw.headers)
        except ValidationFailed as err:
            self._bus.counters.errors += 1  # as Bus.subscribe counts them
            log.warning("dropped message on %s: %s", raw.subject, err)
            return
        if isinstance(batch, telemetry_pb2.TagSampleBatch):
            with self._consumption.handling(raw.headers):
                await self.handler(batch)
