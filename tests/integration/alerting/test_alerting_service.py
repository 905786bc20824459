"""The alerting service with a real nats-server: a threshold crossing raises an alarm on the
bus, an operator acknowledges and shelves it over gRPC (audited), and a restart keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import collected, publish_value, store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, service_pb2, telemetry_pb2

CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "alert_rules": [
        {
            "name": "hot",
            "kind": "high",
            "machine": "s/a/l/m1",
            "tag": "temp",
            "limit": 70,
            "deadband": 2,
            "priority": "high",
            "message": "{machine} at {value}",
        }
    ],
    **people(olga=["alarm.acknowledge", "alarm.shelve", "alarm.unshelve", "alarm.reset"]),
}
ALARM = "hot@s/a/l/m1"
AS_OP = (("x-plantbus-user", "olga"),)


async def send(bus: Bus, value: float) -> None:
    await publish_value(bus, "s/a/l/m1/temp", float(value))


async def test_alarm_lifecycle_over_the_bus_and_grpc(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    events: list[alerting_pb2.AlarmEvent] = []
    audits: list[service_pb2.AuditRecord] = []

    async def collect(subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, alerting_pb2.AlarmEvent):
            events.append(msg)
        elif isinstance(msg, service_pb2.AuditRecord):
            audits.append(msg)

    await bus.subscribe("plantbus.v1.alarm.>", collect)
    await bus.subscribe("plantbus.v1.audit.alerting", collect)
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        await wait_until(lambda: runner.services["alerting"].config_version == 1)
        await send(bus, 65)
        await send(bus, 75)
        raised = await wait_until(lambda: events and events[-1])
        assert (raised.id, raised.state, raised.message) == (
            ALARM,
            "unacknowledged",
            "s/a/l/m1 at 75.0",
        )
        await send(bus, 69)  # inside the deadband: still active
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            acked = await stub.Acknowledge(
                alerting_pb2.AcknowledgeRequest(id=ALARM, comment="checking coolant"),
                metadata=AS_OP,
            )
            assert acked.alarm.state == "acknowledged" and "olga" in acked.alarm.note
            shelved = await stub.Shelve(
                alerting_pb2.ShelveRequest(
                    id=ALARM, duration_seconds=600, comment="coolant pump swap"
                ),
                metadata=AS_OP,
            )
            assert shelved.alarm.state == "shelved"
            listed = await stub.ListAlarms(alerting_pb2.ListAlarmsRequest())
            assert [a.id for a in listed.alarms] == [ALARM]
    await wait_until(lambda: len(audits) >= 2)
    assert [(a.action, a.actor) for a in audits[:2]] == [
        ("alarm.acknowledge", "olga"),
        ("alarm.shelve", "olga"),
    ]
    # a restart keeps the state
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: ALARM in service.alarms)
        alarm = service.alarms[ALARM]
        assert (alarm.state, alarm.active) == ("shelved", True)
        assert "coolant pump swap" in alarm.note
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            back = await stub.Unshelve(
                alerting_pb2.UnshelveRequest(id=ALARM, comment="pump back"), metadata=AS_OP
            )
            assert back.alarm.state == "unacknowledged"  # still hot: annunciated again
            assert back.alarm.note == "unshelved by olga: pump back"
            await send(bus, 60)
            await wait_until(lambda: service.alarms[ALARM].state == "returned_unacknowledged")


async def test_refused_operator_actions_are_audited_as_denied(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.alerting", service_pb2.AuditRecord)
    rules = [{**CONFIG["alert_rules"][0], "max_shelve_s": 60}]
    await put_config(bus, {**CONFIG, "alert_rules": rules})
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: service.config_version == 1)
        await send(bus, 75)
        await wait_until(lambda: ALARM in service.alarms and service.alarms[ALARM].active)
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            request = alerting_pb2.ShelveRequest(id=ALARM, duration_seconds=61, comment="long")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Shelve(request, metadata=AS_OP)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "at most 60 s" in (refused.value.details() or "")
        assert service.alarms[ALARM].state == "unacknowledged"
    denied = await wait_until(lambda: audits and audits[-1])
    assert (denied.action, denied.actor, denied.outcome) == (
        "alarm.shelve",
        "olga",
        service_pb2.AUDIT_OUTCOME_DENIED,
    )
    assert "at most 60 s" in denied.detail


async def test_latched_alarm_is_reset_over_grpc_after_a_restart_and_audited(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.alerting", service_pb2.AuditRecord)
    rules = [{**CONFIG["alert_rules"][0], "latching": True}]
    await put_config(bus, {**CONFIG, "alert_rules": rules})
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: service.config_version == 1)
        await send(bus, 75)
        await wait_until(lambda: ALARM in service.alarms and service.alarms[ALARM].active)
        await send(bus, 60)  # the trip clears, the alarm stays latched
        await wait_until(lambda: service.alarms[ALARM].state == "latched_unacknowledged")
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: ALARM in service.alarms)
        assert service.alarms[ALARM].state == "latched_unacknowledged"  # kept across restart
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            reset = alerting_pb2.ResetRequest(id=ALARM, comment="coolant topped up")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Reset(reset, metadata=AS_OP)
            assert "acknowledge it first" in (refused.value.details() or "")
            await stub.Acknowledge(alerting_pb2.AcknowledgeRequest(id=ALARM), metadata=AS_OP)
            done = await stub.Reset(reset, metadata=AS_OP)
            assert done.alarm.state == "normal"
            assert done.alarm.note == "reset by olga: coolant topped up"
    success, denied = service_pb2.AUDIT_OUTCOME_SUCCESS, service_pb2.AUDIT_OUTCOME_DENIED
    await wait_until(lambda: len(audits) >= 3)
    assert [(a.action, a.outcome) for a in audits] == [
        ("alarm.reset", denied),
        ("alarm.acknowledge", success),
        ("alarm.reset", success),
    ]


async def send_state(bus: Bus, code: int) -> None:
    sample = telemetry_pb2.TagSample(path="s/a/l/m1/state", quality=telemetry_pb2.QUALITY_GOOD)
    sample.value.int_value = code
    await store_samples(bus, sample)


async def test_state_tag_drives_down_too_long_and_planned_stop_suppression(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    """Without the OEE service: the state tag, decoded by the OEE mapping, is enough."""
    down = {
        "name": "down_too_long",
        "kind": "state_duration",
        "machine": "s/a/l/m1",
        "state": "stopped",
        "limit": 0.5,
    }
    states = [
        {"value": 1, "state": "running"},
        {"value": 3, "state": "stopped"},
        {"value": 4, "state": "planned_stop"},
    ]
    oee = [{"machine": "s/a/l/m1", "state_tag": "state", "states": states}]
    await put_config(bus, {**CONFIG, "alert_rules": [*CONFIG["alert_rules"], down], "oee": oee})
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: service.config_version == 1)
        alarms = service.alarms
        down_id = "down_too_long@s/a/l/m1"
        await send_state(bus, 3)
        await wait_until(lambda: alarms[down_id].state == "unacknowledged", timeout=10)
        await send_state(bus, 1)
        await wait_until(lambda: alarms[down_id].state == "returned_unacknowledged")
        await send_state(bus, 4)  # planned stop: suppressed by design, even when hot
        await wait_until(lambda: alarms[ALARM].state == "suppressed")
        await send(bus, 80)
        await wait_until(lambda: alarms[ALARM].active)
        assert alarms[ALARM].state == "suppressed"
        await send_state(bus, 1)  # back to production and still hot: annunciated
        await wait_until(lambda: alarms[ALARM].state == "unacknowledged")


async def test_stale_and_bad_quality_rules(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    rules = [
        {"name": "silent", "kind": "stale", "machine": "s/a/l/m1", "tag": "temp", "timeout_s": 1},
        {"name": "untrusted", "kind": "bad_quality", "machine": "s/a/l/m1", "tag": "temp"},
    ]
    await put_config(bus, {**CONFIG, "alert_rules": rules})
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        await wait_until(lambda: service.config_version == 1)
        alarms = service.alarms
        await send(bus, 50)
        await wait_until(lambda: alarms["silent@s/a/l/m1"].state == "unacknowledged", timeout=10)
        await send(bus, 51)  # data again: the stale alarm returns to normal
        await wait_until(lambda: alarms["silent@s/a/l/m1"].state == "returned_unacknowledged")
        bad = telemetry_pb2.TagSample(path="s/a/l/m1/temp", quality=telemetry_pb2.QUALITY_BAD)
        await store_samples(bus, bad)
        await wait_until(lambda: alarms["untrusted@s/a/l/m1"].state == "unacknowledged")
        await send(bus, 52)
        await wait_until(lambda: alarms["untrusted@s/a/l/m1"].state == "returned_unacknowledged")
