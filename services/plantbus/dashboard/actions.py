"""The page's actions on alarms and downtimes: each checked by the gate (session, CSRF,
Origin), carried out by the service that owns it as the signed-in user, and audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from plantbus.dashboard.backend import View, as_user
from plantbus.dashboard.http import Classify, Comment, OutOfService, Refused, Shelve, read_body
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, oee_pb2, oee_pb2_grpc

__all__ = ["Actions"]

Stub = alerting_pb2_grpc.AlertingServiceStub


def _shelve(alarm_id: str, body: Any) -> tuple[str, Message]:
    request = alerting_pb2.ShelveRequest(
        id=alarm_id, duration_seconds=body.minutes * 60, comment=body.comment
    )
    return "Shelve", request


def _out_of_service(alarm_id: str, body: Any) -> tuple[str, Message]:
    request = alerting_pb2.RemoveFromServiceRequest(
        id=alarm_id, comment=body.comment, duration_seconds=body.hours * 3600
    )
    return "RemoveFromService", request


def _simple(method: str, request: type[Message]) -> Callable[[str, Any], tuple[str, Message]]:
    def build(alarm_id: str, body: Any) -> tuple[str, Message]:
        return method, request(id=alarm_id, comment=body.comment)

    return build


_ALARM_ACTIONS: dict[str, tuple[type[Comment | OutOfService], Callable[..., tuple[str, Any]]]] = {
    "ack": (Comment, _simple("Acknowledge", alerting_pb2.AcknowledgeRequest)),
    "shelve": (Shelve, _shelve),
    "reset": (Comment, _simple("Reset", alerting_pb2.ResetRequest)),
    "out_of_service": (OutOfService, _out_of_service),
    "return_to_service": (Comment, _simple("ReturnToService", alerting_pb2.ReturnToServiceRequest)),
}
"""Per action: its body and the AlertingService method and request it becomes."""


class Actions(View):
    """POST /api/alarms/{id}/{action} and /api/downtimes/{id}/classify."""

    def routes(self) -> list[web.RouteDef]:
        """The action routes."""
        return [
            web.post("/api/alarms/{id:[^/]+}/{action}", self.alarm),
            web.post("/api/downtimes/{id:[^/]+}/classify", self.classify),
        ]

    async def alarm(self, request: web.Request) -> web.Response:
        """Acknowledge, shelve, reset, remove from or return to service one alarm."""
        _, session = self.gate.actor(request)
        alarm_id, action = request.match_info["id"], request.match_info["action"]
        if action not in _ALARM_ACTIONS:
            raise Refused(
                404,
                f"unknown alarm action {action!r}: ack, shelve, reset, out_of_service or "
                "return_to_service",
            )
        model, build = _ALARM_ACTIONS[action]
        method, ask = build(alarm_id, await read_body(request, model))

        async def call(chan: grpc.aio.Channel) -> Message:
            reply = await getattr(Stub(chan), method)(ask, metadata=as_user(session))
            alarm: Message = reply.alarm
            return alarm

        return await self.backend.act("alerting", f"alarm.{action}", alarm_id, session.user, call)

    async def classify(self, request: web.Request) -> web.Response:
        """Give one downtime episode its reason."""
        _, session = self.gate.actor(request)
        downtime_id = request.match_info["id"]
        body = await read_body(request, Classify)

        async def call(chan: grpc.aio.Channel) -> Message:
            reply = await oee_pb2_grpc.OeeServiceStub(chan).ClassifyDowntime(
                oee_pb2.ClassifyDowntimeRequest(id=downtime_id, reason=body.reason.strip()),
                metadata=as_user(session),
            )
            downtime: Message = reply.downtime
            return downtime

        return await self.backend.act("oee", "downtime.classify", downtime_id, session.user, call)
