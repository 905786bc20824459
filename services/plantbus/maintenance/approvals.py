"""Proposed setpoint changes of the maintenance service: kept in KV ``proposal.<id>``,
published on the machine's maintenance subject at every change, approved or rejected by a
person, applied through the device service's WriteTag.

An approval writes **as the approver**: the call carries the maintenance service's
certificate and ``x-plantbus-user: <approver>``, so the device service decides with the
approver's roles and write policies, and its audit names the approver (via maintenance).
An approver who is no configured user (the local operator acting for nobody) is refused
before anything is written: a proposal is never written with the service's own rights on
a person's behalf. The service writes on its own only when a write policy names it in
``services`` for the tag, at most once per tag per ``propose.min_interval_s``; the device
service checks that policy and the tag's limits again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import grpc
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.config.maintenance import Plan
from plantbus.kit import codec, subjects
from plantbus.kit.authz import check_write
from plantbus.kit.bus import kv_key
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import channel
from plantbus.kit.identity import USER_HEADER, Identity
from plantbus.kit.pki import principal_of
from plantbus.kit.service import ServiceContext
from plantbus.maintenance.engine import Event
from plantbus.maintenance.proposals import Proposal, auto_allowed, proposal_of
from plantbus.maintenance.state import documents
from plantbus.sdk.errors import (
    ConflictError,
    DeviceUnavailable,
    NotFound,
    PermissionDenied,
    PlantbusError,
    ValidationFailed,
)
from plantbus.v1 import device_pb2, device_pb2_grpc, maintenance_pb2, service_pb2, telemetry_pb2

__all__ = ["Approvals"]

_WRITE_TIMEOUT_S = 10.0
_REFUSED = frozenset(
    {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
    }
)
DENIED = service_pb2.AUDIT_OUTCOME_DENIED
FAILED = service_pb2.AUDIT_OUTCOME_FAILED


def _key(proposal_id: str) -> str:
    return "proposal." + kv_key(proposal_id.replace(":", "."))


def own_principal(ctx: ServiceContext) -> str:
    """The name the device service sees this service call with (its certificate's; in one
    process hosting every service that is ``all``)."""
    cert = ctx.grpc_tls.cert if ctx.grpc_tls else None
    return principal_of(cert.read_bytes())[1] if cert else ctx.name


class Approvals:
    """The proposals of one maintenance service."""

    def __init__(
        self, ctx: ServiceContext, kv: KeyValue, config: Callable[[], PlantConfig | None]
    ) -> None:
        self.ctx = ctx
        self.kv = kv
        self._config = config
        self.me = own_principal(ctx)
        self.proposals: dict[str, Proposal] = {}

    async def load(self) -> None:
        """Every proposal kept in KV."""
        for doc in (await documents(self.kv, "proposal.")).values():
            p = Proposal.from_json(doc)
            self.proposals[p.id] = p

    def listed(self, pending_only: bool) -> list[maintenance_pb2.Proposal]:
        """Newest first."""
        shown = sorted(self.proposals.values(), key=lambda p: p.created, reverse=True)
        return [p.message() for p in shown if p.state == "pending" or not pending_only]

    async def on_event(self, plan: Plan, e: Event) -> Proposal | None:
        """Propose what ``plan`` proposes at this level (once); the proposal when this
        service may apply it on its own now (a write policy names it for the tag and the
        tag's rate limit allows: then :meth:`apply_alone` it), else None."""
        proposal = proposal_of(plan, e)
        if proposal is None or proposal.id in self.proposals or plan.propose is None:
            return None
        config, interval = self._config(), plan.propose.min_interval_s
        granted = config is not None and (
            check_write(config, self.me, proposal.tag, proposal.value, service=True).allowed
        )
        alone = granted and auto_allowed(
            proposal, self.proposals.values(), self.me, interval, time.time()
        )
        if granted and not alone:
            proposal.note = (
                f"held for a person: {self.me} wrote {proposal.tag} on its own less than "
                f"{interval:g} s ago"
            )
        self.proposals[proposal.id] = proposal
        await self._changed(proposal)
        self.ctx.log.info("proposed %s = %g (%s)", proposal.tag, proposal.value, proposal.id)
        return proposal if alone else None

    async def apply_alone(self, proposal: Proposal) -> None:
        """Write ``proposal`` as this service; a refusal leaves it pending for a person."""
        audit = self._audit("maintenance.apply", proposal, self.me)
        await audit(outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT, detail=f"{proposal.value:g}")
        try:
            reply = await self._write(proposal, None)
        except PlantbusError as err:  # stays pending: a person may still approve it
            await audit(outcome=DENIED if _refusal(err) else FAILED, detail=str(err))
            self.ctx.log.warning("proposal %s not applied: %s", proposal.id, err)
            return
        await self._decided(proposal, "applied", self.me, _read_back(reply))
        await audit(outcome=service_pb2.AUDIT_OUTCOME_SUCCESS, detail=proposal.note)

    async def approve(self, proposal_id: str, who: Identity) -> Proposal:
        """Write the proposal's value as ``who``; refused writes leave it pending."""
        proposal = self._pending(proposal_id)
        audit = self._audit("maintenance.approve", proposal, who.name)
        if who.kind != "user":
            reason = (
                f"{who} is no configured user: a proposal is written as its approver "
                "(approve as a user: PLANTBUS_USER or --user)"
            )
            await audit(outcome=DENIED, detail=reason)
            raise PermissionDenied(reason)
        await audit(outcome=service_pb2.AUDIT_OUTCOME_ATTEMPT, detail=f"{proposal.value:g}")
        try:
            reply = await self._write(proposal, who.name)
        except PlantbusError as err:
            await audit(outcome=DENIED if _refusal(err) else FAILED, detail=str(err))
            raise
        await self._decided(proposal, "applied", who.name, _read_back(reply))
        await audit(outcome=service_pb2.AUDIT_OUTCOME_SUCCESS, detail=proposal.note)
        return proposal

    async def reject(self, proposal_id: str, who: Identity, reason: str) -> Proposal:
        """Close the proposal without a write; ``reason`` is required."""
        proposal = self._pending(proposal_id)
        audit = self._audit("maintenance.reject", proposal, who.name)
        if not reason.strip():
            await audit(outcome=DENIED, detail="no reason given")
            raise ValidationFailed('say why (-m "bearing replaced, speed stays")')
        await self._decided(proposal, "rejected", who.name, reason)
        await audit(outcome=service_pb2.AUDIT_OUTCOME_SUCCESS, detail=reason)
        return proposal

    def _pending(self, proposal_id: str) -> Proposal:
        proposal = self.proposals.get(proposal_id)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id!r} (plantbus maintenance proposals)")
        if proposal.state != "pending":
            raise ConflictError(
                f"proposal {proposal_id!r} was {proposal.state} by {proposal.decided_by}"
            )
        return proposal

    def _audit(self, action: str, proposal: Proposal, actor: str) -> Callable[..., Any]:
        async def record(**fields: Any) -> None:
            attributes = {"proposal": proposal.id, "value": f"{proposal.value:g}"}
            await self.ctx.audit(
                action=action, target=proposal.tag, actor=actor, attributes=attributes, **fields
            )

        return record

    async def _decided(self, proposal: Proposal, state: Any, by: str, note: str) -> None:
        proposal.state, proposal.decided_by, proposal.note = state, by, note
        proposal.decided = time.time()
        await self._changed(proposal)

    async def _changed(self, proposal: Proposal) -> None:
        """Keep it in KV and publish it on its machine's subject."""
        await self.kv.put(_key(proposal.id), json.dumps(proposal.to_json()).encode())
        event = maintenance_pb2.MaintenanceEvent(
            kind=maintenance_pb2.MAINTENANCE_EVENT_KIND_PROPOSAL,
            machine=proposal.machine,
            message=f"{proposal.state}: {proposal.tag} = {proposal.value:g} ({proposal.reason})",
            proposal=proposal.message(),
        )
        event.time.CopyFrom(event.proposal.decided if proposal.decided else event.proposal.created)
        site, area, line, machine = proposal.machine.split("/")
        await self.ctx.bus.publish(subjects.maintenance(site, area, line, machine), event)

    def _device_tag(self, path: str) -> tuple[str, str]:
        config = self._config()
        for d in config.devices if config else ():
            for t in d.tags:
                if f"{d.machine}/{t.name}" == path:
                    return d.name, t.name
        raise NotFound(f"no device has the tag {path!r} any more (the running config)")

    async def _write(self, proposal: Proposal, user: str | None) -> device_pb2.WriteTagResponse:
        """WriteTag as ``user`` (None: as this service); refusals as PermissionDenied."""
        device, tag = self._device_tag(proposal.tag)
        request = device_pb2.WriteTagRequest(
            device=device,
            tag=tag,
            value=telemetry_pb2.TagValue(double_value=proposal.value),
            reason=f"maintenance proposal {proposal.id}: {proposal.reason}",
        )
        metadata = ((USER_HEADER, user),) if user else ()
        try:
            address = await grpc_address(self.ctx.bus, "device")
            async with channel(address, self.ctx.grpc_tls) as chan:
                reply: device_pb2.WriteTagResponse = await device_pb2_grpc.DeviceServiceStub(
                    chan
                ).WriteTag(request, metadata=metadata, timeout=_WRITE_TIMEOUT_S)
                return reply
        except grpc.aio.AioRpcError as err:
            if err.code() in _REFUSED:
                raise PermissionDenied(f"write of {proposal.tag} refused: {err.details()}") from err
            raise DeviceUnavailable(f"write of {proposal.tag} failed: {err.details()}") from err


def _refusal(err: PlantbusError) -> bool:
    return isinstance(err, PermissionDenied | NotFound)


def _read_back(reply: device_pb2.WriteTagResponse) -> str:
    shown = codec.scalar(reply.read_back.value)
    return f"written, read back {shown!r} (policy {reply.policy})"
