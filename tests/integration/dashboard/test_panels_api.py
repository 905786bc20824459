"""The alarm-performance panel's and the maintenance view's HTTP API against the real
alerting and maintenance services: the figures are GetAlarmMetrics' for the same range
with their targets, the counters GetMaintenanceStatus', "maintenance done" resets them;
each read and action as the signed-in user (refused with the service's reason for a
user without the permission), none without a session, no action without the CSRF token."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from plantbus.alerting.service import AlertingService
from plantbus.dashboard.alarm_metrics import assess
from plantbus.historian.service import HistorianService
from plantbus.kit.bus import Bus
from plantbus.kit.service import Service
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import operator_channel
from plantbus.testing.messages import collected, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, service_pb2
from tests.integration.alerting.test_alarm_management import CONFIG as ALERTING
from tests.integration.dashboard.client import Dashboard, serving

M1 = "s/a/l/m1"
HOT = f"hot@{M1}"
CONFIG: dict[str, Any] = {
    "sites": ALERTING["sites"],  # one area, operator position console1, machine m1
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


@contextlib.asynccontextmanager
async def hosting(
    bus: Bus,
    nats_url: str,
    data_dir: Path,
    services: Sequence[type[Service]],
    user: str,
    config: dict[str, Any] = CONFIG,
) -> AsyncIterator[Dashboard]:
    """The dashboard signing in ``user``, beside ``services`` that follow ``config``."""
    await put_config(bus, config)
    async with serving(nats_url, data_dir, services=services, token_user=user) as dash:
        hosted = [dash.runner.services[s.name] for s in services]
        await wait_until(lambda: all(s.config_version == 1 for s in hosted))
        yield dash


async def test_alarm_metrics_are_the_alerting_services_with_their_targets(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    services = [AlertingService, HistorianService]  # a day is older than alerting
    async with hosting(bus, nats_url, tmp_path, services, "olga") as dash:
        alerting, historian = dash.runner.services["alerting"], dash.runner.services["historian"]
        assert isinstance(alerting, AlertingService) and isinstance(historian, HistorianService)
        await wait_until(lambda: historian.store is not None)
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
    async with hosting(bus, nats_url, tmp_path, [AlertingService], "bob") as dash:
        await dash.sign_in()
        async with dash.http.get(f"{dash.base}/api/alarm-metrics") as reply:
            assert reply.status == 403
            assert "alarm.read" in (await reply.json())["error"]


async def test_maintenance_counters_against_plans_and_done_resets_them(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audits = await collected(bus, "plantbus.v1.audit.>", service_pb2.AuditRecord)
    async with hosting(bus, nats_url, tmp_path, [MaintenanceService], "olga") as dash:
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
    async with hosting(bus, nats_url, tmp_path, [MaintenanceService], "bob") as dash:
        maintenance = dash.runner.services["maintenance"]
        assert isinstance(maintenance, MaintenanceService)
        csrf = await dash.sign_in()
        body = {"machine": M1, "component": "spindle", "note": "bearing replaced"}
        async with dash.http.post(
            f"{dash.base}/api/maintenance/done", json=body, headers=dash.acting(csrf)
        ) as reply:
            assert reply.status == 403
            assert "maintenance.record" in (await reply.json())["error"]
        assert [u.resets for u in maintenance.status(M1).usage] == [0, 0]
