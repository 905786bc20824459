"""gRPC translation for ErpService."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import grpc

from plantbus.kit import codec
from plantbus.kit.identity import require
from plantbus.kit.paging import page
from plantbus.v1 import erp_pb2, erp_pb2_grpc

if TYPE_CHECKING:
    from plantbus.erp.service import ErpService

__all__ = ["ErpServicer"]

Context: TypeAlias = grpc.aio.ServicerContext


class ErpServicer(erp_pb2_grpc.ErpServiceServicer):  # type: ignore[misc]
    """Thin translation to :class:`ErpService`."""

    def __init__(self, service: ErpService) -> None:
        self.service = service

    async def ListWorkOrders(
        self, request: erp_pb2.ListWorkOrdersRequest, context: Context
    ) -> erp_pb2.ListWorkOrdersResponse:
        await require("workorder.read", request.status)
        orders = [
            o
            for o in self.service.orders.values()
            if not request.status or o.status == request.status
        ]
        orders.sort(key=lambda o: str(o.erp_id))
        shown, token = page(orders, request)
        return erp_pb2.ListWorkOrdersResponse(work_orders=shown, next_page_token=token)

    async def StartWorkOrder(
        self, request: erp_pb2.StartWorkOrderRequest, context: Context
    ) -> erp_pb2.StartWorkOrderResponse:
        who = await require("workorder.manage", request.erp_id, "workorder.start")
        order = await self.service.start_order(request.erp_id, request.machine, who.name)
        return erp_pb2.StartWorkOrderResponse(work_order=order)

    async def CompleteWorkOrder(
        self, request: erp_pb2.CompleteWorkOrderRequest, context: Context
    ) -> erp_pb2.CompleteWorkOrderResponse:
        who = await require("workorder.manage", request.erp_id, "workorder.complete")
        order = await self.service.complete(request.erp_id, who.name)
        return erp_pb2.CompleteWorkOrderResponse(work_order=order)

    async def SyncStatus(
        self, request: erp_pb2.SyncStatusRequest, context: Context
    ) -> erp_pb2.SyncStatusResponse:
        await require("workorder.read", "connections")
        out = []
        for name, conn in self.service.connections.items():
            status = erp_pb2.ConnectionStatus(
                name=name,
                connector=conn.config.connector,
                reachable=conn.worker.reachable,
                last_error=conn.worker.last_error,
                sent=conn.worker.sent,
                dead_letters=conn.worker.dead,
                pending=await self.service.outbox.pending(name),
            )
            if conn.last_poll:
                status.last_poll.CopyFrom(codec.timestamp(conn.last_poll))
            out.append(status)
        return erp_pb2.SyncStatusResponse(connections=out)

    async def ListDeadLetters(
        self, request: erp_pb2.ListDeadLettersRequest, context: Context
    ) -> erp_pb2.ListDeadLettersResponse:
        await require("workorder.read", "dead letters")
        shown, token = page(await self.service.outbox.dead_letters(), request)
        return erp_pb2.ListDeadLettersResponse(dead_letters=shown, next_page_token=token)

    async def Retry(self, request: erp_pb2.RetryRequest, context: Context) -> erp_pb2.RetryResponse:
        who = await require("erp.retry", request.idempotency_key)
        queued = await self.service.outbox.retry(request.idempotency_key)
        if queued:
            await self.service.ctx.audit(
                action="erp.retry", target=request.idempotency_key, actor=who.name
            )
        return erp_pb2.RetryResponse(queued=queued)
