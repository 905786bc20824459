"""The dashboard gateway's operator actions against the real alerting service: a latched
alarm acknowledged and reset through the HTTP API by a signed-in user (session cookie and
CSRF token), refused without a session, and the actions carried out as that user; an
alarm taken out of service (a reason and an expiry required) and returned."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from yarl import URL

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.testing.config import people, put_config
from plantbus.testing.messages import publish_value
from plantbus.testing.waiting import wait_until
from tests.integration.dashboard.client import serving

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
    **people(olga=["alarm.acknowledge", "alarm.reset", "alarm.out_of_service"]),
}


async def test_latched_alarm_acknowledged_and_reset_from_the_dashboard(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [AlertingService]
    async with serving(nats_url, tmp_path, services=services, token_user="olga") as dash:
        alerting = dash.runner.services["alerting"]
        assert isinstance(alerting, AlertingService)
        await wait_until(lambda: alerting.config_version == 1)
        await publish_value(bus, "s/a/l/m1/pressure", 12.0)
        await publish_value(bus, "s/a/l/m1/pressure", 3.0)
        await wait_until(lambda: alerting.alarms[ALARM].state == "latched_unacknowledged")

        def url(action: str) -> URL:
            return URL(f"{dash.base}{PATH}/{action}", encoded=True)

        async with dash.http.post(url("ack"), headers={"Origin": dash.base}) as refused:
            assert refused.status == 401  # not signed in, no action
        headers = dash.acting(await dash.sign_in())
        async with dash.http.post(url("ack"), headers=headers, json={}) as acked:
            assert acked.status == 200, await acked.text()
        comment = {"comment": "relief valve checked"}
        async with dash.http.post(url("reset"), headers=headers, json=comment) as reset:
            assert reset.status == 200, await reset.text()
        alarm = alerting.alarms[ALARM]
        assert (alarm.state, alarm.note) == ("normal", "reset by olga: relief valve checked")
        async with dash.http.post(url("explode"), headers=headers, json={}) as unknown:
            assert unknown.status == 404
            assert "ack, shelve, reset, out_of_service or" in (await unknown.json())["error"]
        async with dash.http.post(url("ack"), headers=headers, json={}) as normal:
            assert normal.status == 400  # alerting's own refusal, as JSON
            assert ALARM in (await normal.json())["error"]
        odd = URL(f"{dash.base}/api/alarms/{quote('x{y}%/@s', safe='')}/ack", encoded=True)
        async with dash.http.post(odd, headers=headers, json={}) as braces:
            assert braces.status == 404  # alerting's "no alarm", not a missing route
            assert "no alarm 'x{y}%/@s'" in (await braces.json())["error"]


async def test_alarm_out_of_service_and_back_from_the_dashboard(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    async with serving(nats_url, tmp_path, services=[AlertingService], token_user="olga") as dash:
        alerting = dash.runner.services["alerting"]
        assert isinstance(alerting, AlertingService)
        await wait_until(lambda: alerting.config_version == 1)
        await publish_value(bus, "s/a/l/m1/pressure", 12.0)
        await wait_until(lambda: alerting.alarms[ALARM].state == "unacknowledged")
        headers = dash.acting(await dash.sign_in())

        def url(action: str) -> URL:
            return URL(f"{dash.base}{PATH}/{action}", encoded=True)

        async with dash.http.post(url("out_of_service"), headers=headers, json={"hours": 2}) as no:
            assert no.status == 400 and "comment" in (await no.json())["error"]
        body = {"comment": "permit 4711", "hours": 2}
        async with dash.http.post(url("out_of_service"), headers=headers, json=body) as oos:
            assert oos.status == 200, await oos.text()
            assert (await oos.json())["out_of_service_until"]
        alarm = alerting.alarms[ALARM]
        assert (alarm.state, alarm.note) == (
            "out_of_service",
            "removed from service by olga: permit 4711",
        )
        back = {"comment": "valve replaced"}
        async with dash.http.post(url("return_to_service"), headers=headers, json=back) as ret:
            assert ret.status == 200, await ret.text()
        assert alerting.alarms[ALARM].state == "unacknowledged"  # still tripped: annunciated
