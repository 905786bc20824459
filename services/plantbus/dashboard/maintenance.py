"""The maintenance view: per machine, usage counters against their plans, the latest
anomaly score of each monitored tag, and "maintenance done" (RecordMaintenance). Both go
to the maintenance service as the signed-in user, so ``maintenance.read`` and
``maintenance.record`` are checked (and the record audited) there, as for the CLI."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from plantbus.dashboard.backend import Backend, View, as_json, as_user
from plantbus.dashboard.http import MaintenanceDone, Refused, read_body, strict_json
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


def by_machine(reply: maintenance_pb2.GetMaintenanceStatusResponse) -> list[dict[str, Any]]:
    """Counters, plans and latest windows grouped per machine, sorted by machine."""
    machines: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"usage": [], "plans": [], "windows": []}
    )
    for u in reply.usage:
        machines[u.machine]["usage"].append(as_json(u))
    for p in reply.plans:
        machines[p.machine]["plans"].append(_plan(p))
    for w in reply.windows:
        machines["/".join(w.tag.split("/")[:4])]["windows"].append(as_json(w))
    return [{"machine": m, **machines[m]} for m in sorted(machines)]


async def status(
    backend: Backend, meta: tuple[tuple[str, str], ...], machine: str = ""
) -> maintenance_pb2.GetMaintenanceStatusResponse:
    """GetMaintenanceStatus of ``machine`` (every machine when empty)."""

    async def call(chan: grpc.aio.Channel) -> maintenance_pb2.GetMaintenanceStatusResponse:
        ask = maintenance_pb2.GetMaintenanceStatusRequest(machine=machine)
        reply: maintenance_pb2.GetMaintenanceStatusResponse = await Stub(chan).GetMaintenanceStatus(
            ask, metadata=meta
        )
        return reply

    return await backend.call("maintenance", call)


class MaintenanceView(View):
    """GET /api/maintenance and POST /api/maintenance/done."""

    async def get(self, request: web.Request) -> web.Response:
        """Where every machine (or ``?machine=``) stands."""
        session = self.gate.reader(request)
        machine = request.query.get("machine", "")
        if len(machine) > 300 or not machine.isprintable():
            raise Refused(400, "machine is a site/area/line/machine path of at most 300 chars")
        reply = await status(self.backend, as_user(session), machine)
        return web.json_response({"machines": by_machine(reply)}, dumps=strict_json)

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

    def routes(self) -> list[web.RouteDef]:
        """The view's routes."""
        return [
            web.get("/api/maintenance", self.get),
            web.post("/api/maintenance/done", self.done),
        ]
