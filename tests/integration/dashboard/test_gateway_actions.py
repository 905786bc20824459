"""The dashboard gateway's operator actions against the real alerting service: a latched
alarm acknowledged and reset through the HTTP API with the token, refused without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from plantbus.alerting.service import AlertingService
from plantbus.dashboard.service import DashboardService
from plantbus.kit.bus import Bus
from plantbus.kit.net import free_port
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import publish_value
from plantbus.testing.waiting import wait_until

TOKEN = "t0ken-for-tests"
ALARM = "trip@s/a/l/m1"
PATH = "/api/alarms/trip%40s%2Fa%2Fl%2Fm1"  # the page encodes the id as one path segment
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "alert_rules": [
        {
            "name": "trip",
            "kind": "high",
            "machine": "s/a/l/m1",
            "tag": "pressure",
            "limit": 10,
            "latching": True,
        }
    ],
}


async def test_latched_alarm_acknowledged_and_reset_from_the_dashboard(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    port = free_port()
    options = {"dashboard": {"http_port": port, "token": TOKEN, "token_user": "olga"}}
    services = [AlertingService, DashboardService]
    async with (
        hosted(services, nats_url=nats_url, data_dir=tmp_path, options=options) as runner,
        aiohttp.ClientSession() as http,
    ):
        alerting = runner.services["alerting"]
        assert isinstance(alerting, AlertingService)
        await wait_until(lambda: alerting.config_version == 1)
        await publish_value(bus, "s/a/l/m1/pressure", 12.0)
        await publish_value(bus, "s/a/l/m1/pressure", 3.0)
        await wait_until(lambda: alerting.alarms[ALARM].state == "latched_unacknowledged")

        base = f"http://127.0.0.1:{port}{PATH}"

        def url(action: str) -> URL:
            return URL(f"{base}/{action}", encoded=True)

        async with http.post(url("ack")) as refused:
            assert refused.status == 401  # no token, no action
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with http.post(url("ack"), headers=auth, json={}) as acked:
            assert acked.status == 200, await acked.text()
        comment = {"comment": "relief valve checked"}
        async with http.post(url("reset"), headers=auth, json=comment) as reset:
            assert reset.status == 200, await reset.text()
        alarm = alerting.alarms[ALARM]
        assert (alarm.state, alarm.note) == ("normal", "reset by olga: relief valve checked")
        async with http.post(url("explode"), headers=auth, json={}) as unknown:
            assert unknown.status == 404
