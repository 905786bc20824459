"""Every mutating RPC against the real services (one hub: governance, device, alerting,
OEE and ERP behind one mTLS server and its token port), called three times: anonymously
(UNAUTHENTICATED), with the token of a configured user who lacks the permission
(PERMISSION_DENIED) and with the token of one who has it (done); each call audited with
the authenticated caller, how they authenticated and the outcome. And every RPC of every
service, reads included, refuses an anonymous caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import message_factory
from google.protobuf.message import Message
from plantbus_b2mml.schedule import schedule_xml

from plantbus.alerting.service import AlertingService
from plantbus.erp.service import ErpService
from plantbus.kit.bus import Bus
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.pki import Pki
from plantbus.kit.runner import Runner
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.harness import hosted, operator_channel, token_channel
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import (
    alerting_pb2,
    alerting_pb2_grpc,
    device_pb2,
    device_pb2_grpc,
    erp_pb2,
    erp_pb2_grpc,
    governance_pb2,
    governance_pb2_grpc,
    oee_pb2,
    oee_pb2_grpc,
    service_pb2,
    telemetry_pb2,
)

M1 = "s/a/l/m1"
PLC = MemoryDriver.devices.setdefault("memory://authz-table", MemoryDevice())
DENIED, SUCCESS = service_pb2.AUDIT_OUTCOME_DENIED, service_pb2.AUDIT_OUTCOME_SUCCESS
EVERYTHING = [
    "config.apply",
    "config.rollback",
    "users.manage",
    "tag.write",
    "alarm.acknowledge",
    "alarm.shelve",
    "alarm.unshelve",
    "alarm.reset",
    "alarm.out_of_service",
    "downtime.classify",
    "oee.correct",
    "workorder.manage",
    "erp.retry",
]


def plant(exchange: Path, description: str = "line") -> dict[str, Any]:
    return {
        "sites": [
            {
                "name": "s",
                "areas": [
                    {
                        "name": "a",
                        "lines": [
                            {"name": "l", "description": description, "machines": [{"name": "m1"}]}
                        ],
                    }
                ],
            }
        ],
        "devices": [
            {
                "name": "plc",
                "driver": "memory",
                "endpoint": "memory://authz-table",
                "machine": M1,
                "poll_interval_s": 0.1,
                "tags": [
                    {
                        "name": "speed",
                        "address": "speed",
                        "data_type": "uint16",
                        "access": "read_write",
                    },
                    *(
                        {"name": name, "address": name, "data_type": "float64"}
                        for name in ("temp", "pressure", "state", "parts")
                    ),
                ],
            }
        ],
        "alert_rules": [
            {"name": "hot", "kind": "high", "machine": M1, "tag": "temp", "limit": 70},
            {
                "name": "trip",
                "kind": "high",
                "machine": M1,
                "tag": "pressure",
                "limit": 10,
                "latching": True,
            },
        ],
        "oee": [
            {
                "machine": M1,
                "state_tag": "state",
                "total_tag": "parts",
                "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
            }
        ],
        "erp": [
            {
                "name": "erp1",
                "connector": "b2mml",
                "site": "s",
                "line": "l",
                "poll_interval_s": 0.2,
                "settings": {"inbox": str(exchange / "inbox"), "outbox": str(exchange / "out")},
            }
        ],
        "roles": [{"name": "admin", "permissions": EVERYTHING}],
        "users": [{"name": "admin", "roles": ["admin"]}, {"name": "visitor"}],
        "write_policies": [{"name": "speed", "roles": ["admin"], "tags": [f"{M1}/speed"]}],
    }


def plant_files(exchange: Path, description: str) -> list[governance_pb2.ConfigFile]:
    text = yaml.safe_dump(plant(exchange, description))
    return [governance_pb2.ConfigFile(name="plant.yaml", content=text)]


@dataclass
class Hub:
    runner: Runner
    bus: Bus
    exchange: Path
    tokens: dict[str, str]
    audits: list[service_pb2.AuditRecord]


@pytest.fixture
async def hub(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[Hub]:
    exchange = tmp_path / "exchange"
    (exchange / "inbox").mkdir(parents=True)
    (exchange / "inbox" / "schedule.xml").write_bytes(
        schedule_xml([WorkOrder("WO-1", "WO-1", "SHAFT", "Shaft", 10)])
    )
    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "plant.yaml").write_text(yaml.safe_dump(plant(exchange)))
    PLC.values.update(speed=0, temp=20.0, pressure=3.0, state=1.0, parts=0.0)
    services = ["governance", "device", "alerting", "oee", "erp"]
    options = {"governance": {"bootstrap_config": str(tmp_path / "plant")}}
    audits = await collected(bus, "plantbus.v1.audit.>", service_pb2.AuditRecord)
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path, options=options) as runner:
        await wait_until(lambda: runner.services["alerting"].config_version == 1)
        tokens = {}
        async with operator_channel(runner) as chan:
            stub = governance_pb2_grpc.GovernanceServiceStub(chan)
            for user in ("admin", "visitor"):
                reply = await stub.CreateToken(governance_pb2.CreateTokenRequest(user=user))
                tokens[user] = reply.token
        yield Hub(runner, bus, exchange, tokens, audits)


async def arrange(hub: Hub) -> dict[str, str]:
    """State every mutating RPC needs to succeed: an active alarm, an acknowledged latched
    one back to normal, a downtime episode, a released work order, a dead letter, a token
    to revoke. Returns the ids."""
    alerting = hub.runner.services["alerting"]
    assert isinstance(alerting, AlertingService)
    PLC.values.update(temp=90.0, pressure=12.0, state=3.0)
    await wait_until(
        lambda: "trip@s/a/l/m1" in alerting.alarms and alerting.alarms["trip@s/a/l/m1"].active,
        message="trip raised",
    )
    PLC.values["pressure"] = 3.0

    def alarms_ready() -> bool:
        trip = alerting.alarms["trip@s/a/l/m1"]
        return "hot@s/a/l/m1" in alerting.alarms and trip.state == "latched_unacknowledged"

    await wait_until(alarms_ready, message="hot active, trip latched")
    async with operator_channel(hub.runner) as chan:
        await alerting_pb2_grpc.AlertingServiceStub(chan).Acknowledge(
            alerting_pb2.AcknowledgeRequest(id="trip@s/a/l/m1")
        )
        oee = oee_pb2_grpc.OeeServiceStub(chan)

        async def downtime() -> str:
            reply = await oee.ListDowntimes(oee_pb2.ListDowntimesRequest(machine=M1))
            return str(reply.downtimes[0].id) if reply.downtimes else ""

        erp = erp_pb2_grpc.ErpServiceStub(chan)

        async def released() -> bool:
            reply = await erp.ListWorkOrders(erp_pb2.ListWorkOrdersRequest())
            return any(o.erp_id == "WO-1" for o in reply.work_orders)

        episode = await wait_until(downtime, message="a downtime episode")
        await wait_until(released, message="WO-1 from the ERP")
        spare = await governance_pb2_grpc.GovernanceServiceStub(chan).CreateToken(
            governance_pb2.CreateTokenRequest(user="visitor")
        )
    erp_service = hub.runner.services["erp"]
    assert isinstance(erp_service, ErpService)
    dead = erp_pb2.Confirmation(
        idempotency_key="WO-1#dead", connection="erp1", work_order_erp_id="WO-1", machine=M1
    )
    await erp_service.outbox.bury(dead, "rejected by the ERP")
    return {"downtime": episode, "token": spare.info.id, "dead": dead.idempotency_key}


Call = Callable[[grpc.aio.Channel], Awaitable[Message]]


def table(hub: Hub, ids: dict[str, str]) -> list[tuple[str, str, Call]]:
    """(RPC, audited action, call) in an order where each authorized call can succeed."""
    value = telemetry_pb2.TagValue(int_value=4000)
    alarm = "hot@s/a/l/m1"
    return [
        (
            "WriteTag",
            "tag.write",
            lambda c: device_pb2_grpc.DeviceServiceStub(c).WriteTag(
                device_pb2.WriteTagRequest(device="plc", tag="speed", value=value)
            ),
        ),
        (
            "Acknowledge",
            "alarm.acknowledge",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Acknowledge(
                alerting_pb2.AcknowledgeRequest(id=alarm)
            ),
        ),
        (
            "Shelve",
            "alarm.shelve",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Shelve(
                alerting_pb2.ShelveRequest(id=alarm, duration_seconds=600)
            ),
        ),
        (
            "Unshelve",
            "alarm.unshelve",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Unshelve(
                alerting_pb2.UnshelveRequest(id=alarm)
            ),
        ),
        (
            "RemoveFromService",
            "alarm.remove_from_service",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).RemoveFromService(
                alerting_pb2.RemoveFromServiceRequest(
                    id=alarm, comment="permit 1", duration_seconds=600
                )
            ),
        ),
        (
            "ReturnToService",
            "alarm.return_to_service",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).ReturnToService(
                alerting_pb2.ReturnToServiceRequest(id=alarm)
            ),
        ),
        (
            "Reset",
            "alarm.reset",
            lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Reset(
                alerting_pb2.ResetRequest(id="trip@s/a/l/m1")
            ),
        ),
        (
            "ClassifyDowntime",
            "downtime.classify",
            lambda c: oee_pb2_grpc.OeeServiceStub(c).ClassifyDowntime(
                oee_pb2.ClassifyDowntimeRequest(id=ids["downtime"], reason="changeover")
            ),
        ),
        (
            "CorrectCounts",
            "oee.correct_counts",
            lambda c: oee_pb2_grpc.OeeServiceStub(c).CorrectCounts(
                oee_pb2.CorrectCountsRequest(
                    machine=M1,
                    correction=oee_pb2.COUNT_CORRECTION_SCRAP,
                    quantity=1,
                    comment="table",
                )
            ),
        ),
        (
            "StartWorkOrder",
            "workorder.start",
            lambda c: erp_pb2_grpc.ErpServiceStub(c).StartWorkOrder(
                erp_pb2.StartWorkOrderRequest(erp_id="WO-1", machine=M1)
            ),
        ),
        (
            "CompleteWorkOrder",
            "workorder.complete",
            lambda c: erp_pb2_grpc.ErpServiceStub(c).CompleteWorkOrder(
                erp_pb2.CompleteWorkOrderRequest(erp_id="WO-1")
            ),
        ),
        (
            "Retry",
            "erp.retry",
            lambda c: erp_pb2_grpc.ErpServiceStub(c).Retry(
                erp_pb2.RetryRequest(idempotency_key=ids["dead"])
            ),
        ),
        (
            "ApplyConfig",
            "config.apply",
            lambda c: governance_pb2_grpc.GovernanceServiceStub(c).ApplyConfig(
                governance_pb2.ApplyConfigRequest(
                    files=plant_files(hub.exchange, "renamed"), message="table"
                )
            ),
        ),
        (
            "RollbackConfig",
            "config.rollback",
            lambda c: governance_pb2_grpc.GovernanceServiceStub(c).RollbackConfig(
                governance_pb2.RollbackConfigRequest(version=1)
            ),
        ),
        (
            "CreateToken",
            "token.create",
            lambda c: governance_pb2_grpc.GovernanceServiceStub(c).CreateToken(
                governance_pb2.CreateTokenRequest(user="visitor")
            ),
        ),
        (
            "RevokeToken",
            "token.revoke",
            lambda c: governance_pb2_grpc.GovernanceServiceStub(c).RevokeToken(
                governance_pb2.RevokeTokenRequest(id=ids["token"])
            ),
        ),
    ]


def anonymous(runner: Runner) -> grpc.aio.Channel:
    """TLS to the token port, no certificate and no token: what anyone on the network has."""
    assert runner.grpc is not None
    return channel(
        runner.grpc.token_address, ClientTls(Pki(runner.settings.data_dir / "pki").ca_cert)
    )


async def audited(hub: Hub, action: str, actor: str, outcome: int) -> service_pb2.AuditRecord:
    def found() -> service_pb2.AuditRecord | None:
        return next(
            (a for a in hub.audits if (a.action, a.actor, a.outcome) == (action, actor, outcome)),
            None,
        )

    record: service_pb2.AuditRecord = await wait_until(
        found, message=f"audit {action} by {actor} ({outcome})"
    )
    return record


async def test_every_mutating_rpc_refused_refused_done_and_audited(hub: Hub) -> None:
    ids = await arrange(hub)
    rows = table(hub, ids)
    mutating = {
        m.name
        for module in (governance_pb2, device_pb2, alerting_pb2, oee_pb2, erp_pb2)
        for s in module.DESCRIPTOR.services_by_name.values()
        for m in s.methods
        if not m.name.startswith(("List", "Get", "Stream", "Check", "Diff", "History", "Sync"))
        and m.name not in {"ReadTags", "Browse"}
    }
    assert {name for name, _, _ in rows} == mutating, "a mutating RPC is missing from the table"
    async with (
        anonymous(hub.runner) as nobody,
        token_channel(hub.runner, hub.tokens["visitor"]) as visitor,
        token_channel(hub.runner, hub.tokens["admin"]) as admin,
    ):
        for name, action, call in rows:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(nobody)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
            refusal = await audited(hub, "authenticate", "anonymous", DENIED)
            assert refusal.source and "no credentials" in refusal.detail
            hub.audits.remove(refusal)

            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(visitor)
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, name
            assert "user 'visitor'" in (info.value.details() or ""), name
            denied = await audited(hub, action, "visitor", DENIED)
            assert denied.attributes["auth"] == "token" and denied.source, name

            await call(admin)  # done
            done = await audited(hub, action, "admin", SUCCESS)
            assert done.attributes["auth"] == "token" and done.source, name


async def test_every_rpc_refuses_an_anonymous_caller(hub: Hub) -> None:
    async with anonymous(hub.runner) as nobody:
        for module in (governance_pb2, device_pb2, alerting_pb2, oee_pb2, erp_pb2):
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    request = message_factory.GetMessageClass(method.input_type)()
                    response = message_factory.GetMessageClass(method.output_type)
                    path = f"/{service.full_name}/{method.name}"
                    kind = nobody.unary_stream if method.server_streaming else nobody.unary_unary
                    call = kind(
                        path,
                        request_serializer=type(request).SerializeToString,
                        response_deserializer=response.FromString,
                    )
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        if method.server_streaming:
                            async for _ in call(request, timeout=5):
                                pass
                        else:
                            await call(request, timeout=5)
                    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, path
        # a configured user reads (the built-in viewer role) but does not act
    async with token_channel(hub.runner, hub.tokens["visitor"]) as visitor:
        alarms = alerting_pb2_grpc.AlertingServiceStub(visitor)
        await alarms.ListAlarms(alerting_pb2.ListAlarmsRequest())
        versions = await governance_pb2_grpc.GovernanceServiceStub(visitor).ListVersions(
            governance_pb2.ListVersionsRequest()
        )
        assert versions.running_version == 1
