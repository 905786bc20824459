"""The confirmation outbox: a JetStream work queue, one durable consumer per connection,
delivered by :class:`plantbus.kit.outbox.OutboxConsumer` (at least once, in order,
retried in place with capped back-off while the ERP is away; the connector's idempotency
key makes a re-send harmless). A confirmation the ERP rejects goes to the dead-letter list
(KV) with the ERP's message, from where ``retry`` puts it back.
"""

from __future__ import annotations

import time

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.erp.convert import confirmation_from_proto
from plantbus.kit import codec, kv_keys, streams, subjects
from plantbus.kit.bus import Bus, kv_key
from plantbus.kit.outbox import OutboxConsumer, OutboxKind
from plantbus.sdk.connector import ErpConnector
from plantbus.sdk.errors import ErpRejected, ErpUnavailable
from plantbus.v1 import erp_pb2

__all__ = ["Outbox", "OutboxWorker"]


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
        subject = subjects.erp_outbox(confirmation.connection)
        await self.bus.js_publish(subject, confirmation, msg_id or confirmation.idempotency_key)

    async def pending(self, connection: str) -> int:
        """Entries waiting for ``connection``."""
        info = await self.bus.js.stream_info(
            streams.ERP_OUTBOX.name, subjects_filter=subjects.erp_outbox(connection)
        )
        return int((info.state.subjects or {}).get(subjects.erp_outbox(connection), 0))

    async def dead_letters(self) -> list[erp_pb2.DeadLetter]:
        """Every rejected confirmation."""
        out = []
        for key in await kv_keys.keys(self.kv):
            if not key.startswith("dead."):
                continue
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:  # retried since the listing
                continue
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


class OutboxWorker(OutboxConsumer[erp_pb2.Confirmation]):
    """Delivers one connection's outbox through its connector."""

    kind = OutboxKind(
        streams.ERP_OUTBOX, subjects.erp_outbox, "erp", "ERP", ErpUnavailable, ErpRejected
    )

    def __init__(
        self, outbox: Outbox, connection: str, connector: ErpConnector, redelivery_s: float = 30.0
    ) -> None:
        super().__init__(outbox.bus, connection, redelivery_s)
        self.outbox = outbox
        self.connector = connector

    def decode(self, data: bytes) -> erp_pb2.Confirmation:
        """A confirmation."""
        return erp_pb2.Confirmation.FromString(data)

    def key(self, entry: erp_pb2.Confirmation) -> str:
        """The confirmation's idempotency key."""
        return entry.idempotency_key

    async def send(self, entry: erp_pb2.Confirmation) -> None:
        """Book it in the ERP."""
        await self.connector.post_confirmation(confirmation_from_proto(entry))

    async def bury(self, entry: erp_pb2.Confirmation, error: str) -> None:
        """A dead letter with the ERP's message."""
        await self.outbox.bury(entry, error)
