"""Maintenance alarms with a real nats-server: the maintenance service's plan levels raise
alarms of the ``maintenance`` kind, which run through the ISA-18.2 lifecycle and clear
when the maintenance is recorded; anomaly scores and forecasts from the bus raise and
clear theirs; the alerting service's NATS user may hear the maintenance subjects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from plantbus.alerting.service import AlertingService
from plantbus.kit import natsauth, natsconfig
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.maintenance.service import MaintenanceService
from plantbus.sdk.errors import ValidationFailed
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected
from plantbus.testing.waiting import wait_until
from plantbus.v1 import maintenance_pb2 as pb
from tests.integration.maintenance.test_maintenance_requests import OPTIONS, STARTS_PLAN, _states
from tests.integration.maintenance.test_maintenance_service import CONFIG, M2

RULES: list[dict[str, Any]] = [
    {"name": "spindle-service", "kind": "maintenance", "machine": M2, "plan": "spindle-starts"},
    {
        "name": "spindle-overdue",
        "kind": "maintenance",
        "machine": M2,
        "plan": "spindle-starts",
        "level": "due",
        "priority": "high",
    },
    {
        "name": "bearing-soon",
        "kind": "time_to_limit",
        "machine": M2,
        "plan": "bearing",
        "horizon_h": 48,
    },
    {"name": "vibration-odd", "kind": "anomaly_score", "machine": M2, "tag": "vibration"},
]
SERVICE = f"spindle-service@{M2}"
OVERDUE = f"spindle-overdue@{M2}"
SOON = f"bearing-soon@{M2}"
ODD = f"vibration-odd@{M2}"


def plant() -> dict[str, Any]:
    section = CONFIG["maintenance"]
    return {
        **CONFIG,
        "maintenance": {**section, "plans": [*section["plans"], STARTS_PLAN]},
        "alert_rules": RULES,
    }


def alerting(runner: Any) -> AlertingService:
    service = runner.services["alerting"]
    assert isinstance(service, AlertingService)
    return service


async def test_plan_levels_raise_alarms_through_the_lifecycle_until_maintenance_is_recorded(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, plant())
    t = time.time() - 3600
    async with hosted(
        [AlertingService, MaintenanceService], nats_url=nats_url, data_dir=tmp_path, options=OPTIONS
    ) as runner:
        service = alerting(runner)
        keeper = runner.services["maintenance"]
        assert isinstance(keeper, MaintenanceService)
        await wait_until(lambda: service.config_version == 1 and not keeper.replaying)
        alarms = service.alarms
        await _states(bus, t, [1, 3, 1, 3, 1])  # two starts: the warning
        await wait_until(lambda: alarms[SERVICE].state == "unacknowledged", timeout=20)
        assert alarms[OVERDUE].state == "normal"
        assert alarms[SERVICE].message == f"spindle-service on {M2}: maintenance plan at 2"
        await service.operator_action(SERVICE, "acknowledge", "olga", "fitter called")
        await _states(bus, t + 50, [3, 1])  # a third: due
        await wait_until(lambda: alarms[OVERDUE].state == "unacknowledged", timeout=20)
        assert alarms[SERVICE].state == "acknowledged"  # due is past the warning: still on
        await service.operator_action(OVERDUE, "shelve", "olga", "part ordered", 600)
        await service.operator_action(
            SERVICE, "remove_from_service", "olga", "permit 12", duration_s=3600
        )
        await keeper.record(M2, "spindle", "bearing replaced", "fred")
        await wait_until(lambda: not alarms[SERVICE].active and not alarms[OVERDUE].active)
        assert alarms[SERVICE].state == "out_of_service"  # tracked, still hidden
        assert alarms[OVERDUE].state == "shelved"
        await service.operator_action(OVERDUE, "unshelve", "olga", "")
        await service.operator_action(SERVICE, "return_to_service", "olga", "")
        assert (alarms[SERVICE].state, alarms[OVERDUE].state) == ("normal", "normal")
        with pytest.raises(ValidationFailed, match="not shelved"):
            await service.operator_action(OVERDUE, "unshelve", "olga", "")


def _window(score: float | None, threshold: float = 6.0) -> pb.MaintenanceEvent:
    event = pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_WINDOW, machine=M2)
    event.window.tag, event.window.threshold = f"{M2}/vibration", threshold
    if score is not None:
        event.window.score = score
    return event


def _forecast(hours: float | None) -> pb.MaintenanceEvent:
    event = pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_FORECAST, machine=M2)
    event.plan.plan, event.plan.component = "bearing", "spindle"
    if hours is not None:
        event.plan.forecast.hours = hours
    return event


def _done(component: str) -> pb.MaintenanceEvent:
    event = pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_DONE, machine=M2)
    event.usage.machine, event.usage.component = M2, component
    return event


async def test_scores_and_forecasts_raise_alarms_that_clear_when_they_end(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, plant())
    subject = "plantbus.v1.maintenance.s.a.l.m2"
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = alerting(runner)
        await wait_until(lambda: service.config_version == 1)
        alarms = service.alarms
        await bus.publish(subject, _window(None))  # the baseline still learns: nothing
        await bus.publish(subject, _window(7.5))  # at or above the monitor's threshold
        await bus.publish(subject, _forecast(30))  # the limit within the 48 h horizon
        await wait_until(lambda: alarms[ODD].active and alarms[SOON].active)
        assert alarms[ODD].message == f"vibration-odd on {M2}: anomaly score 7.5"
        assert alarms[SOON].message == f"bearing-soon on {M2}: limit forecast in 30 h"
        await bus.publish(subject, _window(2.0))
        await bus.publish(subject, _forecast(None))  # no longer heading for the limit
        await wait_until(lambda: not alarms[ODD].active and not alarms[SOON].active)
        assert alarms[ODD].state == "returned_unacknowledged"
        await bus.publish(subject, _window(9.0))
        await bus.publish(subject, _forecast(12))
        await wait_until(lambda: alarms[ODD].active and alarms[SOON].active)
        await bus.publish(subject, _done("tool"))  # not what these watch: they stay
        await bus.publish(subject, _done("spindle"))  # the bearing's plan and baseline
        await wait_until(lambda: not alarms[SOON].active and not alarms[ODD].active)


async def test_the_alerting_user_hears_maintenance_events(tmp_path: Path) -> None:
    users = {n: natsauth.SERVICE_USERS[n] for n in ("alerting", "maintenance")}
    passwords = {n: f"secret-{n}" for n in users}
    conf = tmp_path / "nats.conf"
    conf.write_text(
        natsconfig.server_config(users, passwords, str(tmp_path / "js"), mqtt_port=None)
    )
    server = NatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        as_user = {
            n: await connect(NatsSettings(url=server.url, user=n, password=SecretStr(passwords[n])))
            for n in users
        }
        heard = await collected(
            as_user["alerting"], "plantbus.v1.maintenance.>", pb.MaintenanceEvent
        )
        await as_user["alerting"].nc.flush()
        await as_user["maintenance"].publish("plantbus.v1.maintenance.s.a.l.m2", _done("spindle"))
        await wait_until(lambda: len(heard) == 1, message="alerting may not subscribe")
        for bus in as_user.values():
            await bus.close()
    finally:
        server.stop()
