"""gRPC translation for OeeService."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TypeAlias

import grpc

from plantbus.kit.identity import require
from plantbus.kit.paging import page
from plantbus.oee import reasons
from plantbus.oee.kpi import Kpis, Totals
from plantbus.oee.snapshot import current_totals
from plantbus.sdk.errors import NotFound, ValidationFailed
from plantbus.v1 import oee_pb2, oee_pb2_grpc

if TYPE_CHECKING:
    from plantbus.oee.service import OeeService

__all__ = ["OeeServicer"]

Context: TypeAlias = grpc.aio.ServicerContext


class OeeServicer(oee_pb2_grpc.OeeServiceServicer):  # type: ignore[misc]
    """Thin translation to :class:`OeeService`."""

    def __init__(self, service: OeeService) -> None:
        self.service = service

    def _snapshot(self, scope: str, shift: str = "") -> oee_pb2.OeeSnapshot:
        if shift:
            return self._past_shift(scope, shift)
        now = time.time()
        if scope.count("/") == 3:
            return self.service.machine_snapshot(scope, now)
        if scope.count("/") == 2:
            return self.service.line_snapshot(scope, now)
        raise ValidationFailed(f"scope {scope!r}: use site/area/line or site/area/line/machine")

    def _past_shift(self, scope: str, shift: str) -> oee_pb2.OeeSnapshot:
        return self.service.live.past_shift(scope, shift)

    async def GetOee(
        self, request: oee_pb2.GetOeeRequest, context: Context
    ) -> oee_pb2.GetOeeResponse:
        await require("oee.read", request.scope)
        return oee_pb2.GetOeeResponse(snapshot=self._snapshot(request.scope, request.shift))

    async def StreamOee(
        self, request: oee_pb2.StreamOeeRequest, context: Context
    ) -> AsyncIterator[oee_pb2.StreamOeeResponse]:
        await require("oee.read", request.scope_prefix)
        queue: asyncio.Queue[oee_pb2.OeeSnapshot] = asyncio.Queue()
        self.service.listeners.add(queue)
        try:
            while True:
                snap = await queue.get()
                if snap.scope.startswith(request.scope_prefix):
                    yield oee_pb2.StreamOeeResponse(snapshot=snap)
        finally:
            self.service.listeners.discard(queue)

    async def ListDowntimes(
        self, request: oee_pb2.ListDowntimesRequest, context: Context
    ) -> oee_pb2.ListDowntimesResponse:
        await require("oee.read", request.machine)
        items = [
            d
            for d in self.service.engine.downtime.recent
            if d.kind != oee_pb2.DOWNTIME_KIND_CLASSIFIED
            and (not request.machine or d.machine == request.machine)
        ]
        latest: dict[str, oee_pb2.DowntimeEvent] = {}
        for d in items:
            latest.setdefault(d.id, d)
        shown, token = page(list(latest.values()), request)
        return oee_pb2.ListDowntimesResponse(downtimes=shown, next_page_token=token)

    async def ClassifyDowntime(
        self, request: oee_pb2.ClassifyDowntimeRequest, context: Context
    ) -> oee_pb2.ClassifyDowntimeResponse:
        recent = self.service.engine.downtime.recent
        if any(d.id == request.id and d.classified_by for d in recent):
            # someone classified it before: changing that is a correction
            action = "downtime.reclassify"
            who = await require("downtime.reclassify", request.id)
        else:
            action = "downtime.classify"
            who = await require("downtime.classify", request.id)
        if not request.reason.strip():
            raise ValidationFailed("a reason is required")
        downtime = await self.service.classify(request.id, request.reason.strip(), who.name, action)
        return oee_pb2.ClassifyDowntimeResponse(downtime=downtime)

    async def GetLosses(
        self, request: oee_pb2.GetLossesRequest, context: Context
    ) -> oee_pb2.GetLossesResponse:
        await require("oee.read", request.scope)
        tracks = [
            t for name, t in self.service.engine.machines.items() if request.scope in (name, t.line)
        ]
        if not tracks:
            raise NotFound(f"no OEE for scope {request.scope!r}")
        kpis = Kpis(Totals.sum(current_totals(t) for t in tracks))
        pareto = reasons.pareto(kpis.totals.down_by_reason, request.level)
        return oee_pb2.GetLossesResponse(
            six_big_losses_s=kpis.six_big_losses(),
            pareto=[oee_pb2.ParetoEntry(reason=r, seconds=s) for r, s in pareto],
        )

    async def CorrectCounts(
        self, request: oee_pb2.CorrectCountsRequest, context: Context
    ) -> oee_pb2.CorrectCountsResponse:
        who = await require("oee.correct", request.machine, "oee.correct_counts")
        if not request.comment.strip():
            raise ValidationFailed("a comment is required: why the counts change")
        ts = request.time.ToNanoseconds() / 1e9 if request.HasField("time") else time.time()
        snap = await self.service.correct_counts(
            request.machine,
            ts,
            request.correction,
            request.quantity,
            request.comment.strip(),
            who.name,
        )
        return oee_pb2.CorrectCountsResponse(snapshot=snap)
