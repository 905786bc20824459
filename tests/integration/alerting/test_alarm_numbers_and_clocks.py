"""The alerting service refuses NaN and infinite shelving durations over gRPC and keeps
answering; its timers follow monotonic time, so a wall-clock jump neither ends a shelve
nor completes an on-delay."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from plantbus.alerting.service import AlertingService
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import ValidationFailed
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, service_pb2

MACHINE = "s/a/l/m1"
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "alert_rules": [
        {"name": "hot", "kind": "high", "machine": MACHINE, "tag": "temp", "limit": 70},
        {
            "name": "slow",
            "kind": "high",
            "machine": MACHINE,
            "tag": "pressure",
            "limit": 5,
            "on_delay_s": 30,
        },
    ],
    **people(olga=["alarm.read", "alarm.acknowledge", "alarm.shelve", "alarm.unshelve"]),
}
HOT, SLOW = f"hot@{MACHINE}", f"slow@{MACHINE}"
AS_OP = (("x-plantbus-user", "olga"),)


async def last_audit(bus: Bus, service: str) -> service_pb2.AuditRecord:
    """The latest audit record of ``service`` in the audit stream."""
    msg = await bus.js.get_last_msg(streams.AUDIT.name, subjects.audit(service))
    return service_pb2.AuditRecord.FromString(msg.data or b"")


@pytest.fixture
async def alerting(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        assert isinstance(service, AlertingService)
        await wait_until(lambda: service.config_version == 1)
        await publish_value(bus, f"{MACHINE}/temp", 75.0)
        await wait_until(lambda: service.alarms[HOT].state == "unacknowledged")
        yield runner, service


@pytest.mark.parametrize("duration", [math.nan, math.inf, -math.inf])
async def test_a_non_finite_shelve_is_refused_and_list_alarms_still_answers(
    alerting: Any, duration: float
) -> None:
    runner, service = alerting
    published = len(service.history)  # every event the service published, newest first
    async with operator_channel(runner) as chan:
        stub = alerting_pb2_grpc.AlertingServiceStub(chan)
        request = alerting_pb2.ShelveRequest(id=HOT, duration_seconds=duration, comment="x")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Shelve(request, metadata=AS_OP)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == (
            f"ShelveRequest.duration_seconds is {duration}: only finite numbers are accepted"
        )
        listed = await stub.ListAlarms(alerting_pb2.ListAlarmsRequest())
        assert [(a.id, a.state) for a in listed.alarms] == [(HOT, "unacknowledged")]
        # and the alarm still works: a proper shelve goes through
        shelved = await stub.Shelve(
            alerting_pb2.ShelveRequest(id=HOT, duration_seconds=60), metadata=AS_OP
        )
        assert shelved.alarm.state == "shelved"
    new = len(service.history) - published
    assert [e.state for e in service.history][:new] == ["shelved"], "only the good shelve"


async def test_a_nan_shelve_past_grpc_is_refused_by_the_lifecycle_and_audited(
    alerting: Any, bus: Bus
) -> None:
    _, service = alerting
    with pytest.raises(ValidationFailed, match="finite duration"):
        await service.operator_action(HOT, "shelve", "olga", "", math.nan)
    assert service.alarms[HOT].state == "unacknowledged"
    denied = await last_audit(bus, "alerting")  # stored before the refusal was answered
    assert (denied.action, denied.outcome) == ("alarm.shelve", service_pb2.AUDIT_OUTCOME_DENIED)


async def test_shelving_and_on_delays_follow_monotonic_time_not_the_wall_clock(
    alerting: Any, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, service = alerting
    await service.operator_action(HOT, "shelve", "olga", "pump swap", 600)
    await publish_value(bus, f"{MACHINE}/pressure", 9.0)  # on-delay 30 s starts
    await wait_until(lambda: service.conditions[SLOW].last_value == 9.0)
    ticks = 0
    tick = service.tick

    async def counted(now: float) -> None:
        nonlocal ticks
        ticks += 1
        await tick(now)

    monkeypatch.setattr(service, "tick", counted)
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() + 3600)  # the wall clock jumps an hour
    await wait_until(lambda: ticks >= 5, message="the tick loop ran under the new wall clock")
    assert service.alarms[HOT].state == "shelved", "a wall-clock jump ended the shelve"
    assert service.alarms[SLOW].state == "normal", "a wall-clock jump completed the on-delay"
    await tick(time.monotonic() + 31)  # monotonic time passes
    assert service.alarms[SLOW].state == "unacknowledged"
    assert service.alarms[HOT].state == "shelved"
    await tick(time.monotonic() + 601)
    assert service.alarms[HOT].state == "unacknowledged", "the shelve ended after 600 s"
    assert service.alarms[HOT].note == "unshelved by expiry"


async def test_an_error_echoing_a_huge_id_still_reaches_the_caller(alerting: Any) -> None:
    """The status message is cut: gRPC drops trailers over 8 KiB, and the caller got
    RESOURCE_EXHAUSTED instead of NOT_FOUND."""
    runner, _ = alerting
    async with operator_channel(runner) as chan:
        stub = alerting_pb2_grpc.AlertingServiceStub(chan)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Acknowledge(
                alerting_pb2.AcknowledgeRequest(id="\U0001f525" * 100_000), metadata=AS_OP
            )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    details = refused.value.details() or ""
    assert details.startswith("no alarm '\U0001f525") and details.endswith(" more characters)")
