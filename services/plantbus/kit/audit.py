"""Audit records: who did what, when, from where, on plantbus.v1.audit.<service>."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from plantbus.kit import codec, subjects
from plantbus.kit.bus import Bus
from plantbus.v1 import service_pb2

__all__ = ["Auditor"]

log = logging.getLogger(__name__)


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
        record = service_pb2.AuditRecord(
            id=uuid.uuid4().hex,
            time=codec.now(),
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
