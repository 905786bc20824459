"""Proposed setpoint changes against a real nats-server, the device service on the
simulator's Modbus server and the maintenance service in a process of its own (so the
device service sees its own certificate): who may approve, that the write is the
approver's (their write policy decides), that it reaches the PLC register, that the
service writes alone only with a write policy of its own and its rate limit, and the
audit of each."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.cli.main import cli as cli_group
from plantbus.device.service import DeviceService
from plantbus.kit.bus import Bus
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.pki import Pki
from plantbus.kit.runner import Runner
from plantbus.maintenance.service import MaintenanceService
from plantbus.sim.model import MachineSim, line
from plantbus.sim.server import ModbusSim, serve_modbus
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted, issue_token, token_channel
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import maintenance_pb2, maintenance_pb2_grpc, service_pb2

M2 = "s/a/l/m2"
SPEED = f"{M2}/speed_setpoint"
OPTIONS = {"maintenance": {"history_wait_s": 0, "tick_s": 0.1}}
PLAN = {
    "name": "m2-service",
    "machine": M2,
    "by": "calendar_days",
    "due": 1,
    "warning": 0.99998,  # in its warning margin two seconds after the start
    "propose": {"tag": "speed_setpoint", "value": 800, "when": "warning"},
}
ID = "m2-service:0:warning"


def config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "sites": [{"name": "s", "areas": [{"name": "a", "lines": [
            {"name": "l", "machines": [{"name": "m2"}]}]}]}],
        "devices": [{
            "name": "plc", "driver": "modbus", "endpoint": url, "machine": M2,
            "poll_interval_s": 0.2,
            "tags": [{"name": "speed_setpoint", "address": "holding:10", "data_type": "uint16",
                      "access": "read_write", "min": 0, "max": 2000}],
        }],
        "maintenance": {"plans": [PLAN]},
        "roles": [
            {"name": "approver", "permissions": ["maintenance.approve", "tag.write"]},
            {"name": "engineer", "permissions": ["maintenance.approve", "tag.write"]},
        ],
        "users": [
            {"name": "visitor", "roles": []},
            {"name": "olga", "roles": ["approver"]},
            {"name": "eng", "roles": ["engineer"]},
        ],
        "write_policies": [{"name": "setpoints", "roles": ["engineer"], "tags": [SPEED]}],
        **extra,
    }  # fmt: skip


@contextlib.asynccontextmanager
async def hub(
    bus: Bus, nats_url: str, tmp_path: Path, **extra: Any
) -> AsyncIterator[tuple[Runner, MaintenanceService, MachineSim]]:
    """The simulator, the device service and the maintenance service (two processes'
    worth: two runners, two certificates from one CA)."""
    machines = line()
    async with serve_modbus(ModbusSim(machines)) as port:
        await put_config(bus, config(f"modbus://127.0.0.1:{port}", **extra))
        async with (
            hosted([DeviceService], nats_url=nats_url, data_dir=tmp_path),
            hosted(
                [MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=OPTIONS
            ) as runner,
        ):
            service = runner.services["maintenance"]
            assert isinstance(service, MaintenanceService)
            yield runner, service, machines[0]


def pending(service: MaintenanceService) -> list[str]:
    assert service.approvals is not None
    return [i for i, p in service.approvals.proposals.items() if p.state == "pending"]


async def test_an_approval_is_written_as_the_approver_and_audited(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    maintenance_audit = await collected(
        bus, "plantbus.v1.audit.maintenance", service_pb2.AuditRecord
    )
    device_audit = await collected(bus, "plantbus.v1.audit.device", service_pb2.AuditRecord)
    events = await collected(bus, "plantbus.v1.maintenance.>", maintenance_pb2.MaintenanceEvent)
    async with hub(bus, nats_url, tmp_path) as (runner, service, m1):
        before = m1.speed_setpoint
        await wait_until(lambda: pending(service) == [ID], timeout=20, message="the proposal")
        proposed = await wait_until(lambda: next((e for e in events if e.proposal.id), None))
        assert proposed is not None
        assert proposed.kind == maintenance_pb2.MAINTENANCE_EVENT_KIND_PROPOSAL
        assert (proposed.proposal.tag, proposed.proposal.value) == (SPEED, 800)
        assert proposed.proposal.state == maintenance_pb2.PROPOSAL_STATE_PENDING
        assert runner.grpc is not None
        ca = Pki(runner.settings.data_dir / "pki").ca_cert
        async with channel(runner.grpc.token_address, ClientTls(ca)) as nobody:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(nobody)
            for call in (
                stub.ListProposals(maintenance_pb2.ListProposalsRequest()),
                stub.ApproveProposal(maintenance_pb2.ApproveProposalRequest(id=ID)),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call
                assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        async with token_channel(runner, await issue_token(bus, "visitor")) as chan:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
            listed = await stub.ListProposals(maintenance_pb2.ListProposalsRequest())
            assert [p.id for p in listed.proposals] == [ID]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ApproveProposal(maintenance_pb2.ApproveProposalRequest(id=ID))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "maintenance.approve" in (err.value.details() or "")
        async with token_channel(runner, await issue_token(bus, "olga")) as chan:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ApproveProposal(maintenance_pb2.ApproveProposalRequest(id=ID))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "no write policy lets roles ['approver']" in (err.value.details() or "")
            assert pending(service) == [ID] and m1.speed_setpoint == before
        async with token_channel(runner, await issue_token(bus, "eng")) as chan:
            stub = maintenance_pb2_grpc.MaintenanceServiceStub(chan)
            reply = await stub.ApproveProposal(maintenance_pb2.ApproveProposalRequest(id=ID))
            assert reply.proposal.state == maintenance_pb2.PROPOSAL_STATE_APPLIED
            assert reply.proposal.decided_by == "eng"
            assert "read back 800" in reply.proposal.note
            assert m1.speed_setpoint == 800  # the PLC's register
            with pytest.raises(grpc.aio.AioRpcError) as err:  # decided once
                await stub.RejectProposal(maintenance_pb2.RejectProposalRequest(id=ID, reason="x"))
            assert err.value.code() == grpc.StatusCode.ABORTED
    written = [a for a in device_audit if a.outcome == service_pb2.AUDIT_OUTCOME_SUCCESS]
    assert [(a.actor, a.target, a.attributes["via"]) for a in written] == [
        ("eng", SPEED, "maintenance")
    ]
    refused = [a for a in device_audit if a.outcome == service_pb2.AUDIT_OUTCOME_DENIED]
    assert [(a.actor, a.attributes["via"]) for a in refused] == [("olga", "maintenance")]
    outcomes = [(a.action, a.actor, a.outcome) for a in maintenance_audit]
    assert ("maintenance.approve", "visitor", service_pb2.AUDIT_OUTCOME_DENIED) in outcomes
    assert ("maintenance.approve", "olga", service_pb2.AUDIT_OUTCOME_DENIED) in outcomes
    assert outcomes[-2:] == [
        ("maintenance.approve", "eng", service_pb2.AUDIT_OUTCOME_ATTEMPT),
        ("maintenance.approve", "eng", service_pb2.AUDIT_OUTCOME_SUCCESS),
    ]


async def test_the_service_writes_alone_only_with_its_own_policy_and_rate_limit(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    own = {"name": "maintenance-alone", "services": ["maintenance"], "tags": [SPEED], "max": 900}
    policies = {"write_policies": [own]}
    audit = await collected(bus, "plantbus.v1.audit.maintenance", service_pb2.AuditRecord)
    async with hub(bus, nats_url, tmp_path, **policies) as (_, service, m1):
        await wait_until(lambda: m1.speed_setpoint == 800, timeout=20, message="applied alone")
        assert service.approvals is not None
        applied = service.approvals.proposals[ID]
        assert (applied.state, applied.decided_by) == ("applied", "maintenance")
        m1.speed_setpoint = 1000
        await service.record(M2, "machine", "serviced", "fred")  # the next due point
        proposals = service.approvals.proposals
        second = await wait_until(lambda: proposals.get("m2-service:1:warning"), timeout=20)
        assert second is not None
        assert second.state == "pending" and m1.speed_setpoint == 1000
        assert second.note.startswith("held for a person: maintenance wrote")
    applies = [(a.actor, a.outcome) for a in audit if a.action == "maintenance.apply"]
    assert applies == [
        ("maintenance", service_pb2.AUDIT_OUTCOME_ATTEMPT),
        ("maintenance", service_pb2.AUDIT_OUTCOME_SUCCESS),
    ]


async def test_the_cli_lists_approves_and_rejects(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    async def cli(*args: str) -> Result:
        argv = ["maintenance", *args, "--nats-url", nats_url, "--data-dir", str(tmp_path)]
        return await asyncio.to_thread(CliRunner().invoke, cli_group, argv)

    async with hub(bus, nats_url, tmp_path) as (_, service, m1):
        await wait_until(lambda: pending(service) == [ID], timeout=20, message="the proposal")
        listed = await cli("proposals")
        assert listed.exit_code == 0, listed.output
        assert listed.output.startswith(f"{ID}  [pending] {SPEED} = 800  (")
        as_json = await cli("proposals", "--json")
        assert json.loads(as_json.output)["proposals"][0]["tag"] == SPEED
        alone = await cli("approve", ID)  # the local operator acting for nobody
        assert alone.exit_code == 4 and "is no configured user" in alone.output
        written = await cli("approve", ID, "--user", "eng")
        assert written.exit_code == 0, written.output
        assert f"{ID}  [applied] {SPEED} = 800" in written.output and m1.speed_setpoint == 800
        assert service.approvals is not None
        second = "m2-service:0:due"  # a proposal to reject, as if the plan had gone due
        service.approvals.proposals[second] = replace(
            service.approvals.proposals[ID], id=second, state="pending", decided_by=""
        )
        unsaid = await cli("reject", second, "--user", "olga")
        assert unsaid.exit_code == 2 and "--message" in unsaid.output
        rejected = await cli("reject", second, "-m", "speed stays", "--user", "olga")
        assert rejected.exit_code == 0, rejected.output
        assert "[rejected]" in rejected.output and "by olga: speed stays" in rejected.output
        again = await cli("approve", second, "--user", "eng")
        assert again.exit_code == 1 and "was rejected by olga" in again.output
