"""gRPC translation for MaintenanceService. GetMaintenanceStatus needs ``maintenance.read``
(every configured user and service has it through the viewer role); RecordMaintenance
needs ``maintenance.record`` and is audited by the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import grpc

from plantbus.kit.identity import require
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc

if TYPE_CHECKING:
    from plantbus.maintenance.service import MaintenanceService

__all__ = ["MaintenanceServicer"]

Context: TypeAlias = grpc.aio.ServicerContext


class MaintenanceServicer(maintenance_pb2_grpc.MaintenanceServiceServicer):  # type: ignore[misc]
    """Thin translation to the service."""

    def __init__(self, service: MaintenanceService) -> None:
        self.service = service

    async def GetMaintenanceStatus(
        self, request: maintenance_pb2.GetMaintenanceStatusRequest, context: Context
    ) -> maintenance_pb2.GetMaintenanceStatusResponse:
        await require("maintenance.read", request.machine or "*")
        return self.service.status(request.machine)

    async def RecordMaintenance(
        self, request: maintenance_pb2.RecordMaintenanceRequest, context: Context
    ) -> maintenance_pb2.RecordMaintenanceResponse:
        target = f"{request.machine}/{request.component or 'machine'}"
        who = await require("maintenance.record", target)
        before = await self.service.record(
            request.machine, request.component, request.note, who.name
        )
        return maintenance_pb2.RecordMaintenanceResponse(before=before)
