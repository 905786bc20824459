"""The maintenance service's events kept by the historian (issue #19 item 5: forecasts
published and kept), in both stores, on a real nats-server with the hub's NATS users:
published as the ``maintenance`` user, read from the events stream as the ``historian``
user, answered by QueryEvents (kind EVENT_KIND_MAINTENANCE, paged, by scope)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from plantbus.historian.service import HistorianService
from plantbus.kit import natsauth, natsconfig, subjects
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import historian_pb2, historian_pb2_grpc
from plantbus.v1 import maintenance_pb2 as pb

T0 = (time.time_ns() // 1000 - 3600 * 10**6) // 60_000_000 * 60_000_000
M2 = "s/a/l/m2"


class Users:
    """A nats-server with every user of the hub, and their passwords."""

    def __init__(self, server: NatsServer, passwords: dict[str, str]) -> None:
        self.server = server
        self.passwords = passwords

    def settings(self, user: str) -> NatsSettings:
        secret = SecretStr(self.passwords[user])
        return NatsSettings(url=self.server.url, user=user, password=secret, name=f"t-{user}")


@pytest.fixture
def users(tmp_path: Path) -> Iterator[Users]:
    grants = natsauth.grants()
    passwords = natsconfig.user_passwords(tmp_path / "credentials", grants)
    server = NatsServer(store_dir=tmp_path / "nats")
    text = natsconfig.server_config(
        grants, passwords, str(tmp_path / "nats" / "jetstream"), mqtt_port=None
    )
    server.config_file = natsconfig.write_config(tmp_path / "nats-server.conf", text)
    server.start()
    try:
        yield Users(server, passwords)
    finally:
        server.stop()


@pytest.fixture
async def as_user(users: Users) -> AsyncIterator[Any]:
    buses: list[Bus] = []

    async def open_as(user: str) -> Bus:
        buses.append(await connect(users.settings(user)))
        return buses[-1]

    yield open_as
    for bus in buses:
        await bus.close()


def _events(machine: str, start_us: int) -> list[pb.MaintenanceEvent]:
    """What the maintenance service publishes for a degrading spindle: windows with their
    scores, an anomaly, forecasts with their bands, a warning, a recorded maintenance."""
    out: list[pb.MaintenanceEvent] = []
    for i in range(20):
        window = pb.ConditionWindow(tag=f"{machine}/spindle_temp", state="running", count=60)
        window.mean, window.score = 60.0 + i, 0.1 * i
        out.append(pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_WINDOW, window=window))
    out.append(
        pb.MaintenanceEvent(
            kind=pb.MAINTENANCE_EVENT_KIND_ANOMALY,
            window=pb.ConditionWindow(tag=f"{machine}/spindle_temp", score=4.2),
        )
    )
    for hours in (40.0, 31.0):
        forecast = pb.MaintenanceForecast(
            tag=f"{machine}/spindle_temp", limit=80, hours=hours, hours_early=hours - 7
        )
        forecast.hours_late = hours + 8
        plan = pb.PlanState(plan="spindle-temp", machine=machine, forecast=forecast)
        out.append(
            pb.MaintenanceEvent(
                kind=pb.MAINTENANCE_EVENT_KIND_FORECAST,
                plan=plan,
                message=f"spindle_temp of m2 predicted to reach 80 degC in {hours:g} h",
            )
        )
    warning = pb.PlanState(plan="spindle-hours", machine=machine, level="warning")
    out.append(pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_WARNING, plan=warning))
    done = pb.ComponentUsage(machine=machine, component="spindle", running_hours=812.5)
    out.append(pb.MaintenanceEvent(kind=pb.MAINTENANCE_EVENT_KIND_DONE, usage=done))
    for i, event in enumerate(out):
        event.machine = machine
        event.time.FromMicroseconds(start_us + i * 1_000_000)
    return out


def _store(kind: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "sqlite":
        return {}
    dsn = request.getfixturevalue("postgres_dsn")
    return {"store": "postgres", "store_settings": {"dsn": dsn}}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_maintenance_events_are_kept_and_queried_in_pages(
    kind: str, users: Users, as_user: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    governance = await as_user("governance")
    historian_section = {"max_batch_delay_s": 0.1, **_store(kind, request)}
    await put_config(governance, {"historian": historian_section})
    async with hosted(
        [HistorianService],
        nats_url=users.server.url,
        data_dir=tmp_path / "hub",
        nats=users.settings("historian"),
    ) as runner:
        service = runner.services["historian"]
        assert isinstance(service, HistorianService)
        await wait_until(lambda: service.store is not None and service.config_version == 1)
        maintenance = await as_user("maintenance")
        published = _events(M2, T0) + _events("s/a/l/m3", T0)
        for event in published:
            site, area, line, machine = event.machine.split("/")
            await maintenance.publish(subjects.maintenance(site, area, line, machine), event)
        await maintenance.nc.flush()
        await wait_until(
            lambda: service.stored["events"] == len(published), message="every event stored"
        )

        async with operator_channel(runner) as chan:
            stub = historian_pb2_grpc.HistorianServiceStub(chan)
            got: list[historian_pb2.HistoryEvent] = []
            query = historian_pb2.QueryEventsRequest(
                kinds=[historian_pb2.EVENT_KIND_MAINTENANCE], scope=M2, page_size=10
            )
            query.start.FromMicroseconds(T0)
            query.end.FromMicroseconds(T0 + 3600 * 10**6)
            pages = 0
            while True:
                reply = await stub.QueryEvents(query)
                got.extend(reply.events)
                pages += 1
                if not reply.next_page_token:
                    break
                query.page_token = reply.next_page_token
            others = historian_pb2.QueryEventsRequest(kinds=[historian_pb2.EVENT_KIND_ALARM])
            others.start.FromMicroseconds(T0)
            others.end.FromMicroseconds(T0 + 3600 * 10**6)
            assert not (await stub.QueryEvents(others)).events

    mine = _events(M2, T0)
    assert pages == 3, "25 events in pages of 10"
    assert [e.maintenance for e in got] == mine, "every event of m2, oldest first, as published"
    assert {e.kind for e in got} == {historian_pb2.EVENT_KIND_MAINTENANCE}
    assert {e.scope for e in got} == {M2}
    assert [e.time.ToMicroseconds() for e in got] == [T0 + i * 1_000_000 for i in range(25)]
    keys = [e.key for e in got]
    assert keys[:21] == [f"{M2}/spindle_temp"] * 21
    assert keys[21:] == ["spindle-temp", "spindle-temp", "spindle-hours", "spindle"]
    forecast = got[22].maintenance.plan.forecast
    assert (forecast.hours, forecast.hours_early, forecast.hours_late) == (31.0, 24.0, 39.0)
    assert got[22].maintenance.message.endswith("in 31 h")
    if kind == "postgres":  # the IT door's view of them
        dsn = historian_section["store_settings"]["dsn"]
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            cur = await conn.execute(
                "SELECT kind, subject, forecast_hours, forecast_hours_early, forecast_hours_late"
                " FROM plantbus.maintenance_events WHERE machine = %s AND kind <> 'window'"
                " ORDER BY t_us",
                (M2,),
            )
            assert await cur.fetchall() == [
                ("anomaly", f"{M2}/spindle_temp", None, None, None),
                ("forecast", "spindle-temp", 40.0, 33.0, 48.0),
                ("forecast", "spindle-temp", 31.0, 24.0, 39.0),
                ("warning", "spindle-hours", None, None, None),
                ("done", "spindle", None, None, None),
            ]
