"""The confirmation outbox: a JetStream work queue, one durable consumer per connection.

At-least-once: an entry is acked only after the connector booked it, so a crash
mid-send re-delivers it; the connector's idempotency key makes the re-send harmless.
While the ERP is unreachable the entry is retried in place with capped back-off, and the
consumer lets one entry out at a time, so entries reach the ERP in the order they were
made, across outages and crashes; an entry the ERP rejects goes to the dead-letter list
(KV) with the ERP's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.erp.convert import confirmation_from_proto
from plantbus.kit import codec, streams, subjects
from plantbus.kit import telemetry as otel
from plantbus.kit.bus import TYPE_HEADER, Bus, kv_key
from plantbus.kit.tasks import cancel
from plantbus.sdk.connector import ErpConnector
from plantbus.sdk.errors import ErpRejected, ErpUnavailable
from plantbus.v1 import erp_pb2

__all__ = ["Outbox", "OutboxWorker"]

log = logging.getLogger(__name__)

_HEADERS = {TYPE_HEADER: "plantbus.v1.Confirmation"}


def _dead_key(key: str) -> str:
    return "dead." + kv_key(key)


class Outbox:
    """Enqueue confirmations and keep dead letters."""

    def __init__(self, bus: Bus, kv: KeyValue) -> None:
        self.bus = bus
        self.kv = kv

    @classmethod
    async def open(cls, bus: Bus, kv: KeyValue) -> Outbox:
        """Create the work-queue stream when missing."""
        await streams.ensure_stream(bus, streams.ERP_OUTBOX)
        return cls(bus, kv)

    async def enqueue(self, confirmation: erp_pb2.Confirmation, msg_id: str = "") -> None:
        """Store a confirmation durably; the same id within a day is stored once."""
        await self.bus.js.publish(
            subjects.erp_outbox(confirmation.connection),
            confirmation.SerializeToString(),
            headers={**_HEADERS, "Nats-Msg-Id": msg_id or confirmation.idempotency_key},
        )

    async def pending(self, connection: str) -> int:
        """Entries waiting for ``connection``."""
        info = await self.bus.js.stream_info(
            streams.ERP_OUTBOX.name, subjects_filter=subjects.erp_outbox(connection)
        )
        return int((info.state.subjects or {}).get(subjects.erp_outbox(connection), 0))

    async def dead_letters(self) -> list[erp_pb2.DeadLetter]:
        """Every rejected confirmation."""
        out = []
        with contextlib.suppress(Exception):  # no keys yet
            for key in await self.kv.keys():
                if key.startswith("dead."):
                    entry = await self.kv.get(key)
                    if entry.value:
                        out.append(erp_pb2.DeadLetter.FromString(entry.value))
        return sorted(out, key=lambda d: d.time.ToNanoseconds())

    async def bury(self, confirmation: erp_pb2.Confirmation, error: str) -> None:
        """Keep a rejected confirmation with the ERP's message."""
        letter = erp_pb2.DeadLetter(confirmation=confirmation, error=error, time=codec.now())
        await self.kv.put(_dead_key(confirmation.idempotency_key), letter.SerializeToString())

    async def retry(self, key: str) -> bool:
        """Put a dead letter back into the outbox (after the ERP side was fixed)."""
        if not key.strip():
            return False
        try:
            entry = await self.kv.get(_dead_key(key))
        except KeyNotFoundError:
            return False
        if not entry.value:
            return False
        letter = erp_pb2.DeadLetter.FromString(entry.value)
        await self.enqueue(letter.confirmation, msg_id=f"{key}#retry-{time.time_ns()}")
        await self.kv.delete(_dead_key(key))
        return True


@dataclass
class OutboxWorker:
    """Delivers one connection's outbox through its connector."""

    outbox: Outbox
    connection: str
    connector: ErpConnector
    max_backoff_s: float = 30.0
    redelivery_s: float = 30.0
    """How long an entry taken by a worker that died stays unacknowledged before redelivery."""
    reachable: bool = True
    last_error: str = ""
    sent: int = 0
    dead: int = 0
    lag: int = 0
    """Entries behind the one being delivered, as of the last fetched."""
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _unwatch: Callable[[], None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Bind the durable consumer and start delivering."""
        durable = f"erp-{self.connection}"
        # create or update: a changed redelivery time applies to the existing consumer
        await self.outbox.bus.js.add_consumer(
            streams.ERP_OUTBOX.name,
            config=ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subject=subjects.erp_outbox(self.connection),
                ack_wait=self.redelivery_s,
                max_deliver=-1,
                max_ack_pending=1,  # in order, also after a crash: nothing passes a pending one
            ),
        )
        self._sub = await self.outbox.bus.js.pull_subscribe_bind(durable, streams.ERP_OUTBOX.name)
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.connection}")
        self._unwatch = otel.CONSUMER_LAG.watch(self._lag)

    async def stop(self) -> None:
        """Stop delivering; undelivered entries stay in the stream."""
        if self._unwatch:
            self._unwatch()
        if self._task:
            await cancel(self._task)

    def _lag(self) -> list[tuple[float, dict[str, str]]]:
        return [
            (self.lag, {"stream": streams.ERP_OUTBOX.name, "consumer": f"erp-{self.connection}"})
        ]

    async def _run(self) -> None:
        while True:
            try:
                msgs = await self._sub.fetch(1, timeout=1)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as err:  # noqa: BLE001 - NATS away: wait and fetch again
                log.debug("outbox fetch failed: %s", err)
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                await self._deliver(msg)

    async def _deliver(self, msg: Msg) -> None:
        """Book one entry (in the trace that made it), retrying it in place while the ERP
        is away, so confirmations reach the ERP in the order they were made (a final one
        never before a partial)."""
        self.lag = msg.metadata.num_pending
        with otel.consume_span(f"deliver confirmation to {self.connection}", msg.headers):
            await self._book(msg)

    async def _book(self, msg: Msg) -> None:
        confirmation = erp_pb2.Confirmation.FromString(msg.data)
        failures = 0
        while True:
            try:
                await self.connector.post_confirmation(confirmation_from_proto(confirmation))
            except ErpUnavailable as err:
                failures += 1
                if self.reachable:
                    log.warning("ERP %s unavailable: %s; retrying", self.connection, err)
                self.reachable, self.last_error = False, str(err)
                await self._hold(msg, min(self.max_backoff_s, 0.5 * 2 ** min(failures, 10)))
                continue
            except ErpRejected as err:
                await self.outbox.bury(confirmation, str(err))
                self.dead += 1
                self.last_error = str(err)
                log.error(
                    "ERP %s rejected %s: %s", self.connection, confirmation.idempotency_key, err
                )
            else:
                if not self.reachable:
                    log.info("ERP %s reachable again", self.connection)
                self.reachable, self.sent = True, self.sent + 1
            await msg.ack()
            return

    async def _hold(self, msg: Msg, seconds: float) -> None:
        """Wait ``seconds`` keeping the entry ours: each in-progress mark restarts its
        redelivery clock (if NATS is away meanwhile, the entry may come again later;
        the connector's idempotency makes that harmless)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            with contextlib.suppress(Exception):
                await msg.in_progress()
            await asyncio.sleep(min(left, self.redelivery_s / 2))
