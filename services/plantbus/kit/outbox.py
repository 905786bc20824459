"""Delivering an outbox: one durable consumer of a JetStream work queue per receiver,
one entry at a time. ERP confirmations (:mod:`plantbus.erp.outbox`) and maintenance
requests (:mod:`plantbus.maintenance.requests`) go out through it.

Exactly once at the receiver, from three parts: an entry is queued with its key as the
NATS message id (the stream keeps a key once within its duplicate window); it is acked
only after the receiver took it, so a crash mid-send delivers it again; and the key goes
with it, so the receiver drops a repeat. While the receiver is away (``unavailable``) the
entry is retried in place with capped back-off, kept ours by in-progress marks, and the
consumer lets one entry out at a time, so entries arrive in the order they were queued,
across outages and crashes. An entry the receiver refuses (``rejected``) is buried (a
dead letter with the receiver's answer) and the next one comes.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final, Generic, TypeVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext

from plantbus.kit import telemetry as otel
from plantbus.kit.bus import Bus
from plantbus.kit.streams import StreamSpec
from plantbus.kit.supervisor import TaskSet
from plantbus.kit.tasks import cancel

__all__ = ["REDELIVERY_S", "OutboxConsumer", "OutboxKind"]

log = logging.getLogger(__name__)

REDELIVERY_S: Final = 30.0
"""How long an entry taken by a consumer that died stays unacknowledged, by default."""

T = TypeVar("T", bound=Message)


@dataclass(frozen=True)
class OutboxKind:
    """One kind of outbox: its stream and what its receivers are and raise."""

    stream: StreamSpec
    subject: Callable[[str], str]
    """The subject of one receiver's entries, by the receiver's name."""
    durable_prefix: str
    receiver: str
    """What the receiver is, in log lines ("ERP" for "ERP erp1 unavailable: ...")."""
    unavailable: type[Exception]
    """What the receiver raises while it cannot take an entry: it is retried."""
    rejected: type[Exception]
    """What the receiver raises when it refuses an entry for good: it is buried."""


class OutboxConsumer(abc.ABC, Generic[T]):
    """Delivers the entries of one receiver ``name`` through :meth:`send`, as the
    durable consumer ``<durable_prefix>-<name>``.

    A subclass names its ``kind``, decodes, sends and buries one entry. ``sent``,
    ``dead``, ``reachable``, ``last_error`` and ``lag`` are for status and health.
    """

    kind: ClassVar[OutboxKind]

    max_backoff_s = 30.0
    reachable = True
    last_error = ""
    sent = 0
    dead = 0
    lag = 0
    """Entries behind the one being delivered, as of the last fetched."""
    _task: asyncio.Task[None] | None = None
    _unwatch: Callable[[], None] | None = None

    def __init__(self, bus: Bus, name: str, redelivery_s: float = REDELIVERY_S) -> None:
        self.bus = bus
        self.name = name
        self.redelivery_s = redelivery_s
        """How long an entry taken by a consumer that died stays unacknowledged before it
        is delivered again."""

    @property
    def durable(self) -> str:
        """The durable consumer's name."""
        return f"{self.kind.durable_prefix}-{self.name}"

    @property
    def label(self) -> str:
        """The receiver in log lines."""
        return f"{self.kind.receiver} {self.name}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.label!r}, reachable={self.reachable}, "
            f"sent={self.sent}, dead={self.dead}, lag={self.lag}, last_error={self.last_error!r})"
        )

    @abc.abstractmethod
    def decode(self, data: bytes) -> T:
        """The entry of a message's payload."""

    @abc.abstractmethod
    def key(self, entry: T) -> str:
        """The entry's key (its message id and the receiver's idempotency key)."""

    @abc.abstractmethod
    async def send(self, entry: T) -> None:
        """Hand ``entry`` to the receiver; raise ``unavailable`` or ``rejected``."""

    @abc.abstractmethod
    async def bury(self, entry: T, error: str) -> None:
        """Keep a refused entry with the receiver's answer."""

    async def start(self, tasks: TaskSet) -> None:
        """Bind the durable consumer and deliver in ``tasks``."""
        # create or update: a changed redelivery time applies to the existing consumer
        await self.bus.js.add_consumer(
            self.kind.stream.name,
            config=ConsumerConfig(
                name=self.durable,
                durable_name=self.durable,
                filter_subject=self.kind.subject(self.name),
                ack_wait=self.redelivery_s,
                max_deliver=-1,
                max_ack_pending=1,  # in order, also after a crash: nothing passes a pending one
            ),
        )
        sub = await self.bus.js.pull_subscribe_bind(self.durable, self.kind.stream.name)
        self._task = tasks.spawn(self._run(sub), name=f"outbox-{self.durable}")
        self._unwatch = otel.CONSUMER_LAG.watch(self._lag)

    async def stop(self) -> None:
        """Stop delivering; undelivered entries stay in the stream. Safe to call twice."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await cancel(self._task)
        self._task = None

    def _lag(self) -> list[tuple[float, dict[str, str]]]:
        return [(self.lag, {"stream": self.kind.stream.name, "consumer": self.durable})]

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                msgs = await sub.fetch(1, timeout=1)
            except TimeoutError:  # nothing waiting (nats' TimeoutError is one too)
                continue
            except NatsError as err:  # NATS away: wait and fetch again
                log.debug("%s: outbox fetch failed: %s", self.label, err)
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                self.lag = msg.metadata.num_pending
                try:
                    with otel.consume_span(f"deliver to {self.label}", msg.headers):
                        await self._deliver(msg)
                except NatsError as err:  # the ack or the burial lost: it comes again
                    log.warning("%s: %s not acknowledged: %s", self.label, msg.subject, err)

    async def _deliver(self, msg: Msg) -> None:
        """Hand one entry over, retrying it in place while the receiver is away, so that
        nothing passes it (a final ERP confirmation never before a partial one)."""
        entry = self.decode(msg.data)
        failures = 0
        while True:
            try:
                await self.send(entry)
            except self.kind.unavailable as err:
                failures += 1
                if self.reachable:
                    log.warning("%s unavailable: %s; retrying", self.label, err)
                self.reachable, self.last_error = False, str(err)
                await self._hold(msg, min(self.max_backoff_s, 0.5 * 2 ** min(failures, 10)))
                continue
            except self.kind.rejected as err:
                await self.bury(entry, str(err))
                self.dead, self.last_error = self.dead + 1, str(err)
                log.error("%s rejected %s: %s", self.label, self.key(entry), err)
            else:
                if not self.reachable:
                    log.info("%s reachable again", self.label)
                self.reachable, self.sent = True, self.sent + 1
            await msg.ack()
            return

    async def _hold(self, msg: Msg, seconds: float) -> None:
        """Wait ``seconds`` keeping the entry ours: each in-progress mark restarts its
        redelivery clock (if NATS is away meanwhile, the entry may come again later; the
        receiver's idempotency makes that harmless)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            with contextlib.suppress(NatsError):
                await msg.in_progress()
            await asyncio.sleep(min(left, self.redelivery_s / 2))
