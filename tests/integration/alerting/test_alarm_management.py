"""Alarm management in the running alerting service: out of service over gRPC and the CLI
(authorized with alarm.out_of_service, a reason and an expiry, audited, back by itself),
suppression by design from a tag and from another alarm, and the performance figures of a
range, from what alerting keeps and, further back, from the historian."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.alerting.service import AlertingService
from plantbus.cli.alarms import alarms
from plantbus.historian.service import HistorianService
from plantbus.kit import codec
from plantbus.kit.bus import Bus
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import collected, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, service_pb2

M1 = "s/a/l/m1"
HOT, TRIP = f"hot@{M1}", f"trip@{M1}"
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [
                {
                    "name": "a",
                    "operator_position": "console1",
                    "lines": [{"name": "l", "machines": [{"name": "m1"}]}],
                }
            ],
        }
    ],
    "alert_rules": [
        {"name": "hot", "kind": "high", "machine": M1, "tag": "temp", "limit": 70},
        {"name": "trip", "kind": "high", "machine": M1, "tag": "pressure", "limit": 10},
    ],
    "alarm_management": {
        "positions": [{"name": "console1"}],
        "max_out_of_service_s": 86400,
        "suppressions": [
            {
                "name": "manual-mode",
                "when": {"kind": "tag", "tag": f"{M1}/mode", "equals": [3]},
                "alarms": [HOT],
            },
            {
                "name": "first-out",
                "when": {"kind": "alarm_active", "alarm": TRIP},
                "alarms": ["hot@*"],
            },
        ],
    },
    **people(olga=["alarm.out_of_service"], ivan=["alarm.acknowledge"]),
}


def acting(user: str) -> tuple[tuple[str, str]]:
    return (("x-plantbus-user", user),)


async def cli(nats_url: str, tmp_path: Path, *args: str) -> Result:
    argv = [*args, "--nats-url", nats_url, "--data-dir", str(tmp_path)]
    return await asyncio.to_thread(CliRunner().invoke, alarms, argv)


async def test_out_of_service_is_authorized_reasoned_bounded_audited_and_expires(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.alerting", service_pb2.AuditRecord)
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        assert isinstance(service, AlertingService)
        await wait_until(lambda: service.config_version == 1)
        await publish_value(bus, f"{M1}/pressure", 12.0)
        await wait_until(lambda: service.alarms[TRIP].state == "unacknowledged")
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            request = alerting_pb2.RemoveFromServiceRequest(
                id=TRIP, comment="permit 4711", duration_seconds=1.0
            )
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await stub.RemoveFromService(request, metadata=acting("ivan"))
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            for bad, says in (
                ({"comment": ""}, "needs a reason"),
                ({"duration_seconds": 0}, "> 0"),
            ):
                wrong = alerting_pb2.RemoveFromServiceRequest(
                    **{"id": TRIP, "comment": "permit", "duration_seconds": 60.0, **bad}
                )
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.RemoveFromService(wrong, metadata=acting("olga"))
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert says in (refused.value.details() or "")
            too_long = alerting_pb2.RemoveFromServiceRequest(
                id=TRIP, comment="permit", duration_seconds=86401
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.RemoveFromService(too_long, metadata=acting("olga"))
            assert "max_out_of_service_s" in (refused.value.details() or "")
            done = await stub.RemoveFromService(request, metadata=acting("olga"))
            assert done.alarm.state == "out_of_service" and done.alarm.HasField(
                "out_of_service_until"
            )
            assert done.alarm.note == "removed from service by olga: permit 4711"
            # the expiry returns it by itself; still tripped, it is annunciated again
            await wait_until(lambda: service.alarms[TRIP].state == "unacknowledged", timeout=5)
            assert service.alarms[TRIP].note == "returned to service by expiry"

        oos = await cli(nats_url, tmp_path, "oos", TRIP, "--for", "2h", "-m", "valve swap")
        assert oos.exit_code == 0 and "out_of_service" in oos.output, oos.output
        until = service.alarms[TRIP].out_of_service_until
        assert until == pytest.approx(time.time() + 7200, abs=10)
        no_reason = await cli(nats_url, tmp_path, "oos", TRIP, "--for", "2h")
        assert no_reason.exit_code == 2 and "--comment" in no_reason.output
        back = await cli(nats_url, tmp_path, "return", TRIP, "-m", "valve in")
        assert back.exit_code == 0 and "unacknowledged" in back.output, back.output

    success, refused_ = service_pb2.AUDIT_OUTCOME_SUCCESS, service_pb2.AUDIT_OUTCOME_DENIED
    await wait_until(lambda: len([a for a in audits if "service" in a.action]) >= 7)
    mine = [(a.action, a.outcome, a.detail) for a in audits if "service" in a.action]
    assert [m[:2] for m in mine] == [
        ("alarm.remove_from_service", refused_),  # ivan, by the authorizer
        ("alarm.remove_from_service", refused_),
        ("alarm.remove_from_service", refused_),
        ("alarm.remove_from_service", refused_),
        ("alarm.remove_from_service", success),
        ("alarm.remove_from_service", success),
        ("alarm.return_to_service", success),
    ]
    assert mine[4][2] == "permit 4711" and mine[5][2] == "valve swap"


async def test_suppression_by_design_from_a_tag_and_from_another_alarm(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["alerting"]
        assert isinstance(service, AlertingService)
        await wait_until(lambda: service.config_version == 1)

        def hot() -> tuple[str, str]:
            return service.alarms[HOT].state, service.alarms[HOT].note

        await publish_value(bus, f"{M1}/mode", 3.0)
        await publish_value(bus, f"{M1}/temp", 75.0)
        await wait_until(lambda: hot() == ("suppressed", "suppressed by design: manual-mode"))
        assert service.alarms[HOT].active  # the condition is still tracked
        await publish_value(bus, f"{M1}/mode", 1.0)
        await wait_until(lambda: hot()[0] == "unacknowledged")
        await publish_value(bus, f"{M1}/pressure", 12.0)  # the trip hides what it causes
        await wait_until(lambda: hot() == ("suppressed", "suppressed by design: first-out"))
        assert service.alarms[TRIP].state == "unacknowledged"
        await publish_value(bus, f"{M1}/pressure", 3.0)
        await wait_until(lambda: hot()[0] == "unacknowledged")


def old_event(when: float, rule: str, active: bool = True) -> alerting_pb2.AlarmEvent:
    return alerting_pb2.AlarmEvent(
        id=f"{rule}@{M1}",
        rule=rule,
        scope=M1,
        state="unacknowledged" if active else "normal",
        active=active,
        priority="low",
        time=codec.timestamp(when),
    )


async def test_metrics_of_a_range_from_alerting_and_from_the_historian(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [AlertingService, HistorianService]
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path) as runner:
        service, historian = runner.services["alerting"], runner.services["historian"]
        assert isinstance(service, AlertingService) and isinstance(historian, HistorianService)
        await wait_until(lambda: service.config_version == 1 and historian.store is not None)
        two_days_ago = (time.time() - 2 * 86400) // 600 * 600 + 5  # inside one period
        for i in range(11):  # a flood two days ago, before alerting started
            await bus.publish(
                f"plantbus.v1.alarm.s.a.l.m1.r{i}", old_event(two_days_ago + 10 * i, f"r{i}")
            )
        await publish_value(bus, f"{M1}/temp", 75.0)
        await wait_until(lambda: service.alarms[HOT].state == "unacknowledged")
        await wait_until(lambda: historian.stored["events"] >= 12)
        async with operator_channel(runner) as chan:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            recent = alerting_pb2.GetAlarmMetricsRequest(
                start=codec.timestamp(service.kept_since + 0.001)
            )
            live = await stub.GetAlarmMetrics(recent)
            assert (live.source, live.annunciated) == ("alerting", 1)
            assert [(p.position, p.annunciated) for p in live.positions] == [("console1", 1)]
            assert [s.id for s in live.standing_alarms] == [HOT]
            week = alerting_pb2.GetAlarmMetricsRequest(
                start=codec.timestamp(time.time() - 7 * 86400)
            )
            past = await stub.GetAlarmMetrics(week)
        assert (past.source, past.annunciated) == ("historian", 12)
        (console,) = past.positions
        assert (console.position, console.floods, console.flood_seconds) == ("console1", 1, 560.0)
        assert (console.peak, console.periods, console.periods_above) == (11, 1009, 1)
        assert past.annunciated_by_priority == {"low": 11, "medium": 1}
        assert past.bad_actors[0].percent_of_load == pytest.approx(100 / 12)

        shown = await cli(nats_url, tmp_path, "metrics", "--since", "7d", "--json")
        assert shown.exit_code == 0, shown.output
        doc = json.loads(shown.output)
        assert (doc["source"], doc["annunciated"]) == ("historian", 12)
        assert doc["positions"][0]["floods"] == 1
        text = await cli(nats_url, tmp_path, "metrics", "--since", "7d")
        assert "console1: " in text.output and "1 floods" in text.output, text.output
        reversed_ = await cli(nats_url, tmp_path, "metrics", "--since", "1h", "--until", "2h")
        assert "start must be before end" in reversed_.output, reversed_.output
        assert reversed_.exit_code == 2  # invalid input


async def test_a_range_before_what_alerting_keeps_without_a_historian_says_so(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        await wait_until(lambda: runner.services["alerting"].config_version == 1)
        shown = await cli(nats_url, tmp_path, "metrics", "--since", "7d")
    assert shown.exit_code == 5  # unreachable: no historian serves
    assert "the oldest alarm change alerting keeps" in shown.output
    assert "start the historian" in shown.output
