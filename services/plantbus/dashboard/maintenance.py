"""The maintenance view: per machine, usage counters against their plans, the latest
anomaly score of each monitored tag, the pending proposed actions, "maintenance done"
(RecordMaintenance) and a proposal's approval or rejection (ApproveProposal,
RejectProposal). Every call goes to the maintenance service as the signed-in user, so
``maintenance.read``, ``maintenance.record`` and ``maintenance.approve`` are checked (and
the actions audited) there, as for the CLI; an approval's write is that user's, checked
by the device service against their write policy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from plantbus.dashboard.backend import Backend, Metadata, View, as_json, as_user
from plantbus.dashboard.http import (
    Approve,
    MaintenanceDone,
    Refused,
    Reject,
    read_body,
    strict_json,
)
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc

__all__ = ["MaintenanceView", "by_machine", "status"]

Stub = maintenance_pb2_grpc.MaintenanceServiceStub


def _plan(p: maintenance_pb2.PlanState) -> dict[str, Any]:
    """A plan with how far along it is: the counter over the due point (a condition plan:
    the indicator's trend level over its limit)."""
    out = as_json(p)
    out.setdefault("value", 0.0)
    out["progress"] = p.value / p.due if p.due > 0 else None
    out["warning_at"] = None if p.by == "condition" else p.due - p.warning
    return out


def by_machine(
    reply: maintenance_pb2.GetMaintenanceStatusResponse,
    proposals: Iterable[maintenance_pb2.Proposal] = (),
) -> list[dict[str, Any]]:
    """Counters, plans, latest windows and proposals grouped per machine, sorted by
    machine."""
    machines: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"usage": [], "plans": [], "windows": [], "proposals": []}
    )
    for proposal in proposals:
        machines[proposal.machine]["proposals"].append(as_json(proposal))
    for u in reply.usage:
        machines[u.machine]["usage"].append(as_json(u))
    for p in reply.plans:
        machines[p.machine]["plans"].append(_plan(p))
    for w in reply.windows:
        machines["/".join(w.tag.split("/")[:4])]["windows"].append(as_json(w))
    return [{"machine": m, **machines[m]} for m in sorted(machines)]


async def status(
    backend: Backend, meta: Metadata, machine: str = ""
) -> maintenance_pb2.GetMaintenanceStatusResponse:
    """GetMaintenanceStatus of ``machine`` (every machine when empty)."""

    async def call(chan: grpc.aio.Channel) -> maintenance_pb2.GetMaintenanceStatusResponse:
        ask = maintenance_pb2.GetMaintenanceStatusRequest(machine=machine)
        reply: maintenance_pb2.GetMaintenanceStatusResponse = await Stub(chan).GetMaintenanceStatus(
            ask, metadata=meta
        )
        return reply

    return await backend.call("maintenance", call)


async def pending(backend: Backend, meta: Metadata) -> list[maintenance_pb2.Proposal]:
    """The pending proposals, newest first (ListProposals)."""

    async def call(chan: grpc.aio.Channel) -> list[maintenance_pb2.Proposal]:
        ask = maintenance_pb2.ListProposalsRequest(pending_only=True)
        reply = await Stub(chan).ListProposals(ask, metadata=meta)
        return list(reply.proposals)

    return await backend.call("maintenance", call)


class MaintenanceView(View):
    """GET /api/maintenance, POST /api/maintenance/done and
    POST /api/maintenance/proposals/{id}/approve|reject."""

    async def get(self, request: web.Request) -> web.Response:
        """Where every machine (or ``?machine=``) stands."""
        session = self.gate.reader(request)
        machine = request.query.get("machine", "")
        if len(machine) > 300 or not machine.isprintable():
            raise Refused(400, "machine is a site/area/line/machine path of at most 300 chars")
        meta = as_user(session)
        reply = await status(self.backend, meta, machine)
        proposals = [
            p for p in await pending(self.backend, meta) if p.machine == machine or not machine
        ]
        return web.json_response({"machines": by_machine(reply, proposals)}, dumps=strict_json)

    async def done(self, request: web.Request) -> web.Response:
        """Record maintenance of a component: its counters restart from zero."""
        _, session = self.gate.actor(request)
        body = await read_body(request, MaintenanceDone)
        target = f"{body.machine}/{body.component}"

        async def call(chan: grpc.aio.Channel) -> Message:
            ask = maintenance_pb2.RecordMaintenanceRequest(
                machine=body.machine, component=body.component, note=body.note.strip()
            )
            reply = await Stub(chan).RecordMaintenance(ask, metadata=as_user(session))
            before: Message = reply.before
            return before

        return await self.backend.act(
            "maintenance", "maintenance.record", target, session.user, call
        )

    async def decide(self, request: web.Request) -> web.Response:
        """Approve (the proposed value is written as the signed-in user) or reject (with a
        reason) one pending proposal; the proposal as it now stands."""
        _, session = self.gate.actor(request)
        proposal_id, action = request.match_info["id"], request.match_info["action"]
        ask: Message
        if action == "approve":
            await read_body(request, Approve)
            method, ask = "ApproveProposal", maintenance_pb2.ApproveProposalRequest(id=proposal_id)
        elif action == "reject":
            why = (await read_body(request, Reject)).reason.strip()
            method = "RejectProposal"
            ask = maintenance_pb2.RejectProposalRequest(id=proposal_id, reason=why)
        else:
            raise Refused(404, f"unknown proposal action {action!r}: approve or reject")

        async def call(chan: grpc.aio.Channel) -> Message:
            reply = await getattr(Stub(chan), method)(ask, metadata=as_user(session))
            decided: Message = reply.proposal
            return decided

        return await self.backend.act(
            "maintenance", f"proposal.{action}", proposal_id, session.user, call
        )

    def routes(self) -> list[web.RouteDef]:
        """The view's routes."""
        return [
            web.get("/api/maintenance", self.get),
            web.post("/api/maintenance/done", self.done),
            web.post("/api/maintenance/proposals/{id:[^/]+}/{action}", self.decide),
        ]
