"""Audit records: who did what, when, from where, on plantbus.v1.audit.<service>."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js.api import StreamConfig

from plantbus.sdk import subjects
from plantbus.sdk.bus import Bus
from plantbus.v1 import service_pb2

__all__ = ["AUDIT_STREAM", "Auditor", "ensure_audit_stream"]

log = logging.getLogger(__name__)

AUDIT_STREAM = "PLANTBUS_AUDIT"
_RETENTION_S = 400 * 24 * 3600  # a year and a bit: audits outlive annual reviews


async def ensure_audit_stream(bus: Bus) -> None:
    """Create the audit stream when it does not exist."""
    await bus.ensure_stream(
        StreamConfig(
            name=AUDIT_STREAM,
            subjects=[f"{subjects.PREFIX}.audit.>"],
            max_age=_RETENTION_S,
            duplicate_window=120,
        )
    )


class Auditor:
    """Publishes audit records for one service into the audit stream."""

    def __init__(self, bus: Bus, service: str) -> None:
        self.bus = bus
        self.service = service

    async def __call__(
        self,
        *,
        action: str,
        target: str,
        actor: str,
        outcome: int = service_pb2.AUDIT_OUTCOME_SUCCESS,
        detail: str = "",
        attributes: Mapping[str, str] | None = None,
        source: str = "",
    ) -> service_pb2.AuditRecord:
        """Record one action; a failed publish is logged with the record, never raised."""
        ts = Timestamp()
        ts.GetCurrentTime()
        record = service_pb2.AuditRecord(
            id=uuid.uuid4().hex,
            time=ts,
            service=self.service,
            actor=actor or "anonymous",
            action=action,
            target=target,
            outcome=outcome,  # type: ignore[arg-type]
            detail=detail,
            attributes=dict(attributes or {}),
            source=source,
        )
        try:
            await self.bus.js_publish(subjects.audit(self.service), record, msg_id=record.id)
        except Exception as err:  # noqa: BLE001 - an audit outage must not fail the audited action
            log.error(
                "audit record %s (%s on %s by %s) not stored: %s",
                record.id,
                action,
                target,
                record.actor,
                err,
            )
        return record
