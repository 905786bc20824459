"""gRPC translation for AlertingService."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from google.protobuf.message import Message

from plantbus.alerting.convert import event_of, fill_performance
from plantbus.alerting.lifecycle import AlarmState
from plantbus.alerting.metrics import metrics
from plantbus.alerting.performance import performance
from plantbus.alerting.ranges import changes_in
from plantbus.config.security import Permission
from plantbus.kit.identity import require
from plantbus.kit.paging import page
from plantbus.sdk.errors import ValidationFailed
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc

if TYPE_CHECKING:
    from plantbus.alerting.service import AlertingService

__all__ = ["AlertingServicer"]

Context: TypeAlias = grpc.aio.ServicerContext
_URGENCY = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


def _lifecycle(
    permission: Permission, action: str, reply: Callable[..., Message]
) -> Callable[[AlertingServicer, Any, Context], Awaitable[Message]]:
    """The RPC of a lifecycle action with no settings of its own (``id``, ``comment``):
    the alarm as it is after, in ``reply``."""

    async def rpc(servicer: AlertingServicer, request: Any, context: Context) -> Message:
        return reply(alarm=await servicer._act(permission, request, action))

    return rpc


class AlertingServicer(alerting_pb2_grpc.AlertingServiceServicer):  # type: ignore[misc]
    """Thin translation to :class:`AlertingService`."""

    def __init__(self, service: AlertingService) -> None:
        self.service = service

    async def ListAlarms(
        self, request: alerting_pb2.ListAlarmsRequest, context: Context
    ) -> alerting_pb2.ListAlarmsResponse:
        await require("alarm.read", request.scope_prefix)
        alarms = [
            a
            for a in self.service.alarms.values()
            if a.scope.startswith(request.scope_prefix)
            and (request.include_normal or a.state != AlarmState.NORMAL)
        ]
        alarms.sort(key=lambda a: (_URGENCY.get(a.priority, 9), -a.changed_at))
        shown, token = page(alarms, request)
        return alerting_pb2.ListAlarmsResponse(
            alarms=[event_of(a) for a in shown], next_page_token=token
        )

    async def History(
        self, request: alerting_pb2.HistoryRequest, context: Context
    ) -> alerting_pb2.HistoryResponse:
        await require("alarm.read", request.scope_prefix)
        limit = request.limit or 100
        events = [e for e in self.service.history if e.scope.startswith(request.scope_prefix)]
        shown, token = page(events[:limit], request)
        return alerting_pb2.HistoryResponse(events=shown, next_page_token=token)

    async def _act(
        self,
        permission: Permission,
        request: Any,
        action: str,
        *args: Any,
        audited_as: str = "",
    ) -> alerting_pb2.AlarmEvent:
        """One lifecycle action by the caller on the alarm ``request.id``, as it is after."""
        who = await require(permission, request.id, audited_as)
        alarm = await self.service.operator_action(
            request.id, action, who.name, request.comment, *args
        )
        return event_of(alarm)

    Acknowledge = _lifecycle("alarm.acknowledge", "acknowledge", alerting_pb2.AcknowledgeResponse)
    Unshelve = _lifecycle("alarm.unshelve", "unshelve", alerting_pb2.UnshelveResponse)
    Reset = _lifecycle("alarm.reset", "reset", alerting_pb2.ResetResponse)

    async def Shelve(
        self, request: alerting_pb2.ShelveRequest, context: Context
    ) -> alerting_pb2.ShelveResponse:
        event = await self._act(
            "alarm.shelve", request, "shelve", request.duration_seconds, request.one_shot
        )
        return alerting_pb2.ShelveResponse(alarm=event)

    async def StreamAlarms(
        self, request: alerting_pb2.StreamAlarmsRequest, context: Context
    ) -> AsyncIterator[alerting_pb2.StreamAlarmsResponse]:
        await require("alarm.read", request.scope_prefix)
        queue: asyncio.Queue[alerting_pb2.AlarmEvent] = asyncio.Queue()
        self.service.listeners.add(queue)
        try:
            while True:
                event = await queue.get()
                if event.scope.startswith(request.scope_prefix):
                    yield alerting_pb2.StreamAlarmsResponse(alarm=event)
        finally:
            self.service.listeners.discard(queue)

    async def GetAlarmMetrics(
        self, request: alerting_pb2.GetAlarmMetricsRequest, context: Context
    ) -> alerting_pb2.GetAlarmMetricsResponse:
        await require("alarm.read", "metrics")
        now = time.time()
        end = request.end.ToMicroseconds() / 1e6 if request.HasField("end") else now
        start = request.start.ToMicroseconds() / 1e6 if request.HasField("start") else end - 3600
        if not start < end:
            raise ValidationFailed("GetAlarmMetrics: start must be before end")
        service = self.service
        m = metrics(service.alarms.values(), now)
        out = alerting_pb2.GetAlarmMetricsResponse(
            alarms_per_hour_by_area=m.per_hour_by_area,
            standing=m.standing,
            stale=m.stale,
            chattering=m.chattering,
            top_frequent=[alerting_pb2.AlarmCount(id=i, activations=n) for i, n in m.top_frequent],
            flooding=sorted(service.evaluation.flood.flooding),
        )
        changes, out.source = await changes_in(service, start, end)
        evaluation = service.evaluation
        perf = performance(changes, start, end, evaluation.positions.of, evaluation.management)
        fill_performance(perf, out)
        return out

    async def RemoveFromService(
        self, request: alerting_pb2.RemoveFromServiceRequest, context: Context
    ) -> alerting_pb2.RemoveFromServiceResponse:
        event = await self._act(
            "alarm.out_of_service",
            request,
            "remove_from_service",
            request.duration_seconds,
            audited_as="alarm.remove_from_service",
        )
        return alerting_pb2.RemoveFromServiceResponse(alarm=event)

    async def ReturnToService(
        self, request: alerting_pb2.ReturnToServiceRequest, context: Context
    ) -> alerting_pb2.ReturnToServiceResponse:
        event = await self._act(
            "alarm.out_of_service",
            request,
            "return_to_service",
            audited_as="alarm.return_to_service",
        )
        return alerting_pb2.ReturnToServiceResponse(alarm=event)
