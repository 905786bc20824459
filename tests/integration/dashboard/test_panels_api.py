"""The alarm-performance panel's and the maintenance view's HTTP API against the real
alerting and maintenance services: the figures are GetAlarmMetrics' for the same range
with their targets, the counters GetMaintenanceStatus', "maintenance done" resets them;
each read and action as the signed-in user (refused with the service's reason for a
user without the permission), none without a session, no action without the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plantbus.alerting.service import AlertingService
from plantbus.dashboard.alarm_metrics import assess
from plantbus.historian.service import HistorianService
from plantbus.kit.bus import Bus
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import operator_channel
from plantbus.testing.messages import collected, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, service_pb2
from tests.integration.dashboard.client import serving

M1 = "s/a/l/m1"
HOT = f"hot@{M1}"
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
        {
            "name": "hot",
            "kind": "high",
            "machine": M1,
            "tag": "temp",
            "limit": 70,
            "priority": "high",
        }
    ],
    "alarm_management": {"positions": [{"name": "console1"}]},
    "maintenance": {
        "components": [{"machine": M1, "name": "spindle"}],
        "plans": [
            {
                "name": "spindle-hours",
                "machine": M1,
                "component": "spindle",
                "by": "running_hours",
                "due": 500,
                "warning": 50,
            }
        ],
    },
    # the viewer role (users and services) reads OEE and history only: olga may read
    # alarms and maintenance and record it, bob may do neither
    **people(
        olga=["alarm.read", "maintenance.read", "maintenance.record"],
        bob=["alarm.acknowledge"],
        viewer=["oee.read", "history.read"],
    ),
}


async def test_alarm_metrics_are_the_alerting_services_with_their_targets(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [AlertingService, HistorianService]  # a day is older than alerting
    async with serving(nats_url, tmp_path, services=services, token_user="olga") as dash:
        alerting, historian = dash.runner.services["alerting"], dash.runner.services["historian"]
        assert isinstance(alerting, AlertingService) and isinstance(historian, HistorianService)
        await wait_until(lambda: alerting.config_version == 1 and historian.store is not None)
        for value in (75.0, 60.0, 75.0):  # annunciated, cleared, annunciated again
            await publish_value(bus, f"{M1}/temp", value)
            await wait_until(lambda v=value: alerting.alarms[HOT].active == (v > 70))  # type: ignore[misc]
        await wait_until(lambda: historian.stored["events"] >= 3)
        url = f"{dash.base}/api/alarm-metrics"
        async with dash.http.get(url) as anonymous:
            assert anonymous.status == 401
        await dash.sign_in()
        async with dash.http.get(url, params={"range": "fortnight"}) as bad:
            assert bad.status == 400
            assert "hour, shift, day, week" in (await bad.json())["error"]
        async with dash.http.get(url, params={"range": "day"}) as reply:
            assert reply.status == 200, await reply.text()
            shown = await reply.json()
        assert shown["end"] - shown["start"] == 86_400_000
        ask = alerting_pb2.GetAlarmMetricsRequest()
        ask.start.FromMilliseconds(shown["start"])
        ask.end.FromMilliseconds(shown["end"])
        async with operator_channel(dash.runner) as chan:
            direct = await alerting_pb2_grpc.AlertingServiceStub(chan).GetAlarmMetrics(ask)
        assert shown == assess(direct, "day")
        assert direct.annunciated == 2 and shown["annunciated"] == 2
        (console,) = shown["positions"]
        figures = {f["key"]: f for f in console["figures"]}
        assert console["position"] == "console1"
        assert console["periods"] in (144, 145)  # periods of the clock the day touches
        assert figures["average_per_period"]["value"] == pytest.approx(2 / console["periods"])
        assert figures["average_per_period"]["ok"] and figures["peak"]["ok"]
        assert figures["percent_periods_above"]["target"] == "< 1 %"
        assert [s["id"] for s in shown["standing"]] == [HOT]
        priorities = {p["priority"]: p for p in shown["priorities"]}
        assert priorities["high"]["value"] == 100.0 and not priorities["high"]["ok"]
        # the top alarm is the whole load: a bad actor far over its share
        top = {f["key"]: f for f in shown["figures"]}["top_load"]
        assert (top["value"], top["ok"]) == (100.0, False)


async def test_alarm_metrics_refused_as_the_user_who_may_not_read_alarms(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [AlertingService]
    async with serving(nats_url, tmp_path, services=services, token_user="bob") as dash:
        alerting = dash.runner.services["alerting"]
        assert isinstance(alerting, AlertingService)
        await wait_until(lambda: alerting.config_version == 1)
        await dash.sign_in()
        async with dash.http.get(f"{dash.base}/api/alarm-metrics") as reply:
            assert reply.status == 403
            assert "alarm.read" in (await reply.json())["error"]


async def test_maintenance_counters_against_plans_and_done_resets_them(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.>", service_pb2.AuditRecord)
    await put_config(bus, CONFIG)
    services = [MaintenanceService]
    async with serving(nats_url, tmp_path, services=services, token_user="olga") as dash:
        maintenance = dash.runner.services["maintenance"]
        assert isinstance(maintenance, MaintenanceService)
        await wait_until(lambda: maintenance.config_version == 1)
        url = f"{dash.base}/api/maintenance"
        async with dash.http.get(url) as anonymous:
            assert anonymous.status == 401
        csrf = await dash.sign_in()
        async with dash.http.get(url) as reply:
            assert reply.status == 200, await reply.text()
            (m1,) = (await reply.json())["machines"]
        assert m1["machine"] == M1
        (plan,) = m1["plans"]
        assert (plan["plan"], plan["due"], plan["warning"], plan["warning_at"]) == (
            "spindle-hours",
            500,
            50,
            450,
        )
        assert plan["level"] == "ok" and plan["progress"] == plan["value"] / 500
        assert [u["component"] for u in m1["usage"]] == ["machine", "spindle"]

        done = f"{dash.base}/api/maintenance/done"
        body = {"machine": M1, "component": "spindle", "note": "bearing replaced"}
        async with dash.http.post(done, json=body, headers={"Origin": dash.base}) as forged:
            assert forged.status == 403  # no CSRF token: not from the page
        async with dash.http.post(done, json={**body, "note": " "}, headers=dash.acting(csrf)) as r:
            assert r.status == 400
        async with dash.http.post(done, json=body, headers=dash.acting(csrf)) as reply:
            assert reply.status == 200, await reply.text()
            before = await reply.json()
        assert before["component"] == "spindle"
        async with dash.http.get(url, params={"machine": M1}) as reply:
            _, usage = (await reply.json())["machines"][0]["usage"]
        assert (usage["last_note"], usage["last_by"], usage["resets"]) == (
            "bearing replaced",
            "olga",
            1,
        )
        await wait_until(
            lambda: (
                {a.action for a in audits if a.actor == "olga"}
                >= {"maintenance.record", "dashboard.maintenance.record"}
            )
        )


async def test_maintenance_done_refused_as_the_user_who_may_not_record(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [MaintenanceService]
    async with serving(nats_url, tmp_path, services=services, token_user="bob") as dash:
        maintenance = dash.runner.services["maintenance"]
        assert isinstance(maintenance, MaintenanceService)
        await wait_until(lambda: maintenance.config_version == 1)
        csrf = await dash.sign_in()
        body = {"machine": M1, "component": "spindle", "note": "bearing replaced"}
        async with dash.http.post(
            f"{dash.base}/api/maintenance/done", json=body, headers=dash.acting(csrf)
        ) as reply:
            assert reply.status == 403
            assert "maintenance.record" in (await reply.json())["error"]
        assert [u.resets for u in maintenance.status(M1).usage] == [0, 0]
