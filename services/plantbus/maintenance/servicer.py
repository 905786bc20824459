"""gRPC translation for MaintenanceService. GetMaintenanceStatus and ListProposals need
``maintenance.read`` (every configured user and service has it through the viewer role);
RecordMaintenance needs ``maintenance.record``, ApproveProposal and RejectProposal
``maintenance.approve``; each is audited by the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import grpc

from plantbus.kit.identity import require
from plantbus.sdk.errors import ConflictError
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc

if TYPE_CHECKING:
    from plantbus.maintenance.approvals import Approvals
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

    def _approvals(self) -> Approvals:
        if self.service.approvals is None:
            raise ConflictError("the maintenance service is starting; try again")
        return self.service.approvals

    async def ListProposals(
        self, request: maintenance_pb2.ListProposalsRequest, context: Context
    ) -> maintenance_pb2.ListProposalsResponse:
        await require("maintenance.read", "proposals")
        proposals = self._approvals().listed(request.pending_only)
        return maintenance_pb2.ListProposalsResponse(proposals=proposals)

    async def ApproveProposal(
        self, request: maintenance_pb2.ApproveProposalRequest, context: Context
    ) -> maintenance_pb2.ApproveProposalResponse:
        who = await require("maintenance.approve", request.id, "maintenance.approve")
        proposal = await self._approvals().approve(request.id, who)
        return maintenance_pb2.ApproveProposalResponse(proposal=proposal.message())

    async def RejectProposal(
        self, request: maintenance_pb2.RejectProposalRequest, context: Context
    ) -> maintenance_pb2.RejectProposalResponse:
        who = await require("maintenance.approve", request.id, "maintenance.reject")
        proposal = await self._approvals().reject(request.id, who, request.reason)
        return maintenance_pb2.RejectProposalResponse(proposal=proposal.message())
