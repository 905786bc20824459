"""The trend view's HTTP API against the real historian: points of a tag and of an OEE
KPI, a stop and an alarm as bands, read as the signed-in user (a user without
history.read is refused though the dashboard itself could not read either), refused
without a session, and a bad query named."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from plantbus.historian.service import HistorianService
from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.testing.config import people, put_config
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, oee_pb2
from tests.historian import publish_samples
from tests.integration.dashboard.client import serving

MINUTE_US = 60_000_000
NOW_US = time.time_ns() // 1000
T0 = (NOW_US - 3600 * 10**6) // MINUTE_US * MINUTE_US
TAG = "s/a/l/m1/temp"
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "historian": {"max_batch_delay_s": 0.1, "oee_every_s": 0},
    # the viewer role (users and services) without history.read: only olga may read it
    **people(olga=["history.read"], bob=["alarm.acknowledge"], viewer=["oee.read"]),
}


async def _feed(bus: Bus) -> None:
    await publish_samples(bus, TAG, [T0 + i * 10_000_000 for i in range(300)])
    for minute, oee in ((5, 0.5), (20, 0.75)):
        snapshot = oee_pb2.OeeSnapshot(scope="s/a/l/m1", oee=oee, availability=0.9)
        snapshot.time.FromMicroseconds(T0 + minute * MINUTE_US)
        await bus.publish(subjects.oee("s", "a", "l", "m1"), snapshot)
    stop = oee_pb2.DowntimeEvent(
        id="d1", machine="s/a/l/m1", kind=oee_pb2.DOWNTIME_KIND_ENDED, reason="jam"
    )
    stop.start.FromMicroseconds(T0 + 10 * MINUTE_US)
    stop.end.FromMicroseconds(T0 + 15 * MINUTE_US)
    await bus.publish(subjects.downtime("s", "a", "l", "m1"), stop)
    for minute, active in ((30, True), (32, False)):
        alarm = alerting_pb2.AlarmEvent(
            id="hot@s/a/l/m1", scope="s/a/l/m1", active=active, message="too hot"
        )
        alarm.time.FromMicroseconds(T0 + minute * MINUTE_US)
        await bus.publish(subjects.alarm("s", "a", "l", "m1", "hot"), alarm)
    await bus.nc.flush()


def _query(start_us: int, end_us: int, *series: str) -> list[tuple[str, str]]:
    return [("series", s) for s in series] + [
        ("start", str(start_us // 1000)),
        ("end", str(end_us // 1000)),
    ]


async def test_trend_points_and_bands_as_the_signed_in_user(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await put_config(bus, CONFIG)
    services = [HistorianService]
    async with serving(nats_url, tmp_path, services=services, token_user="olga") as dash:
        historian = dash.runner.services["historian"]
        assert isinstance(historian, HistorianService)
        await wait_until(lambda: historian.store is not None and historian.config_version == 1)
        await _feed(bus)
        await wait_until(lambda: historian.stored["events"] == 5 and historian.stored["samples"])
        query = _query(T0, T0 + 50 * MINUTE_US, TAG, "kpi:s/a/l/m1:oee")
        url = f"{dash.base}/api/trend"
        async with dash.http.get(url, params=query) as anonymous:
            assert anonymous.status == 401
        await dash.sign_in()
        async with dash.http.get(url, params=query) as reply:
            assert reply.status == 200, await reply.text()
            data = await reply.json()
        assert data["bucket_s"] == 6  # 50 minutes in about 500 points
        tag, kpi = data["series"]
        assert tag["name"] == TAG and len(tag["points"]) == 300
        assert tag["points"][0] == [T0 // 1000, 0.0]
        assert kpi == {
            "name": "kpi:s/a/l/m1:oee",
            "points": [[T0 // 1000 + 300_000, 0.5], [T0 // 1000 + 1_200_000, 0.75]],
        }
        assert [(b["kind"], b["start"], b["end"], b["label"]) for b in data["bands"]] == [
            ("stop", T0 // 1000 + 600_000, T0 // 1000 + 900_000, "jam"),
            ("alarm", T0 // 1000 + 1_800_000, T0 // 1000 + 1_920_000, "too hot"),
        ]
        async with dash.http.get(url, params=_query(T0, T0, TAG)) as empty:
            assert empty.status == 400
            assert "start must be before end" in (await empty.json())["error"]
        async with dash.http.get(url, params=_query(T0, T0 + 1, "kpi:s/a/l/m1:speed")) as bad:
            assert bad.status == 400 and "kpi:<scope>:<oee" in (await bad.json())["error"]
    async with serving(nats_url, tmp_path / "bob", services=services, token_user="bob") as dash:
        historian = dash.runner.services["historian"]
        assert isinstance(historian, HistorianService)
        await wait_until(lambda: historian.store is not None and historian.config_version == 1)
        await dash.sign_in()
        async with dash.http.get(f"{dash.base}/api/trend", params=query) as refused:
            assert refused.status == 403, await refused.text()
            assert "no role of user 'bob' grants 'history.read'" in (await refused.json())["error"]
