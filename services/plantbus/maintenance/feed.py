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
from collections.abc import Awaitable, Callable, Iterable

import nats.errors
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.v1 import telemetry_pb2

__all__ = ["CycleFeed"]

_SPAN = f"receive {subjects.PREFIX}.cycle.>"
"""The consumer span's name, as when it subscribed to every cycle (docs/architecture.md)."""

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
            self._subs[machine] = await self._bus.subscribe(
                subjects.cycles_of(machine), self._on_batch, wanted=self._holds_one, span=_SPAN
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

    def _holds_one(self, raw: Msg) -> bool:
        """Whether the bytes of one of the followed paths of the cycle's machine occur in it."""
        paths = self._by_subject.get(raw.subject)
        if paths is None:
            paths = self._by_subject[raw.subject] = self._paths.get(_machine_of(raw.subject), ())
        data = raw.data
        return any(path in data for path in paths)

    async def _on_batch(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, telemetry_pb2.TagSampleBatch):
            await self.handler(msg)
