"""Audit records: who did what, when, from where, on plantbus.v1.audit.<service>.

Tamper-evident: the records of one running service instance form a hash chain. Each
carries its chain's id, its place in it (``sequence``, from 1), the ``hash`` of the
record before it (``prev_hash``) and its own ``hash`` (SHA-256 of the record's
deterministic serialization with ``hash`` empty), so a record altered, removed or slipped
in shows (:func:`verify_chains`, ``plantbus audit verify``).

Fail-closed: a record that cannot be stored raises :class:`AuditUnavailable`; an action
that must not happen unaudited records its attempt first and does not act when that
raises. A record that failed is stored first with the next one (same id: the stream
drops a copy it already has), so the chain has no hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plantbus.kit import codec, subjects
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import PlantbusError, describe
from plantbus.v1 import service_pb2

__all__ = [
    "AuditUnavailable",
    "Auditor",
    "ChainBreak",
    "Outcome",
    "attempted",
    "record_hash",
    "record_outcome",
    "verify_chains",
]

log = logging.getLogger(__name__)


class AuditUnavailable(PlantbusError):
    """Raised when an audit record cannot be stored; an audited action must not go ahead."""

    reason = "AUDIT_UNAVAILABLE"
    retryable = True


def record_hash(record: service_pb2.AuditRecord) -> str:
    """SHA-256 (hex) of the record's deterministic serialization with ``hash`` empty."""
    unhashed = service_pb2.AuditRecord()
    unhashed.CopyFrom(record)
    unhashed.hash = ""
    return hashlib.sha256(unhashed.SerializeToString(deterministic=True)).hexdigest()


class Auditor:
    """Publishes the audit records of one service instance into the audit stream."""

    def __init__(self, bus: Bus, service: str, instance: str = "") -> None:
        self.bus = bus
        self.service = service
        self.instance = instance
        self.chain = f"{service}/{instance}/{uuid.uuid4().hex[:12]}"
        self._sequence = 0
        self._last_hash = ""
        self._unsent: service_pb2.AuditRecord | None = None
        self._lock = asyncio.Lock()

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
        """Record one action, or raise AuditUnavailable when it cannot be stored."""
        async with self._lock:  # one chain: records are linked and stored in order
            if self._unsent is not None:
                await self._store(self._unsent)
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
                instance=self.instance,
                chain=self.chain,
                sequence=self._sequence + 1,
                prev_hash=self._last_hash,
            )
            record.hash = record_hash(record)
            self._sequence, self._last_hash = record.sequence, record.hash
            self._unsent = record
            await self._store(record)
        return record

    async def _store(self, record: service_pb2.AuditRecord) -> None:
        try:
            await self.bus.js_publish(subjects.audit(self.service), record, msg_id=record.id)
        except Exception as err:  # whatever failed (timeout, no stream, refused), it is not stored
            log.error(
                "audit record %s (%s on %s by %s) not stored: %s",
                record.id,
                record.action,
                record.target,
                record.actor,
                describe(err),
            )
            raise AuditUnavailable(
                f"the audit record of {record.action} on {record.target} cannot be stored "
                f"({describe(err)}); is NATS up and the audit stream writable?"
            ) from err
        self._unsent = None


async def record_outcome(audit: Callable[..., Awaitable[Any]], **record: Any) -> None:
    """Record the outcome of an action that already happened. When the record cannot be
    stored now it is logged, and the auditor stores it first with its next record: the
    action happened, so failing the caller would tell a falsehood."""
    try:
        await audit(**record)
    except AuditUnavailable as err:
        log.error("outcome of %s kept for the next audit record: %s", record.get("action"), err)


@dataclass
class Outcome:
    """What :func:`attempted` records once the action succeeded; the action may add to it."""

    detail: str


@contextlib.asynccontextmanager
async def attempted(
    audit: Callable[..., Awaitable[Any]], *, action: str, target: str, actor: str, detail: str = ""
) -> AsyncIterator[Outcome]:
    """Audit an action before it happens, then its outcome.

    The attempt is recorded first: when that raises :class:`AuditUnavailable` the body
    does not run (no audit, no action), and the caller may try again later. An error in
    the body is recorded as failed and raised; success is recorded with the
    :class:`Outcome`'s detail (:func:`record_outcome`: the action happened)."""
    record = {"action": action, "target": target, "actor": actor}
    await audit(**record, outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT, detail=detail)
    outcome = Outcome(detail)
    try:
        yield outcome
    except PlantbusError as err:
        failed = service_pb2.AUDIT_OUTCOME_FAILED
        await record_outcome(audit, **record, outcome=failed, detail=f"{detail}: {err}")
        raise
    await record_outcome(audit, **record, detail=outcome.detail)


@dataclass(frozen=True)
class ChainBreak:
    """The first record of a chain that does not fit it, and why."""

    record: service_pb2.AuditRecord
    stream_sequence: int
    reason: str

    def __str__(self) -> str:
        r = self.record
        return (
            f"record {r.id} (stream sequence {self.stream_sequence}, chain {r.chain} "
            f"#{r.sequence}, {r.action} on {r.target} by {r.actor}): {self.reason}"
        )


@dataclass
class _Chain:
    sequence: int = 0
    last_hash: str = ""
    broken: bool = False


def verify_chains(
    records: Iterable[tuple[int, service_pb2.AuditRecord]],
) -> tuple[dict[str, int], list[ChainBreak]]:
    """Check ``(stream sequence, record)`` pairs in stream order.

    Returns the number of records per chain and the first break of every broken chain.
    A record stored twice (a retry the stream did not drop) counts once.
    """
    chains: dict[str, _Chain] = {}
    counts: dict[str, int] = {}
    breaks: list[ChainBreak] = []
    seen: dict[str, str] = {}
    for stream_seq, record in records:
        if seen.get(record.id) == record.hash:
            continue  # the same record again
        seen[record.id] = record.hash
        key = record.chain or f"{record.service}/(unchained)"
        chain = chains.setdefault(key, _Chain())
        counts[key] = counts.get(key, 0) + 1
        if chain.broken:
            continue
        why = _misfit(record, chain)
        if why:
            chain.broken = True
            breaks.append(ChainBreak(record, stream_seq, why))
            continue
        chain.sequence, chain.last_hash = record.sequence, record.hash
    return counts, breaks


def _misfit(record: service_pb2.AuditRecord, chain: _Chain) -> str:
    """Why ``record`` does not follow ``chain`` ('' when it does)."""
    if not record.hash:
        return "it has no hash (written by something other than a Plantbus auditor)"
    if record.hash != record_hash(record):
        return "its content does not match its hash (the record was altered)"
    if record.sequence != chain.sequence + 1:
        return (
            f"it is #{record.sequence} but #{chain.sequence + 1} was expected "
            "(records before it were removed, or it was slipped in)"
        )
    if record.prev_hash != chain.last_hash:
        return "its prev_hash is not the hash of the record before it (a record was replaced)"
    return ""
