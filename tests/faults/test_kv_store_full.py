"""OEE and alerting with their state bucket at its JetStream limit (a real nats-server, a
bucket whose ``max_bytes`` leaves room for nothing): JetStream's own error is in health and
the heartbeat, the service keeps working, and the next save after the limit is raised
stores the state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nats.js.api import KeyValueConfig

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.messages import collected, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, oee_pb2
from tests.heartbeats import detail_says

FULL = "maximum bytes exceeded"  # what JetStream answers a write past max_bytes
SITES = [
    {"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}]}
]
OEE: dict[str, Any] = {
    "sites": SITES,
    "oee": [
        {
            "machine": "s/a/l/m1",
            "state_tag": "state",
            "total_tag": "parts",
            "states": [{"value": 1, "state": "running"}],
            "ideal_cycle_time_s": 1.0,
        }
    ],
}
ALERTS: dict[str, Any] = {
    "sites": SITES,
    "alert_rules": [
        {"name": "hot", "kind": "high", "machine": "s/a/l/m1", "tag": "temp", "limit": 70}
    ],
    **people(olga=["alarm.acknowledge"]),
}
ALARM = "hot@s/a/l/m1"


async def full_bucket(bus: Bus, name: str) -> None:
    """The bucket, created before the service opens it, with room for no entry."""
    await bus.js.create_key_value(KeyValueConfig(bucket=name, history=1, max_bytes=16))


async def unlimit(bus: Bus, name: str) -> None:
    """Lift the bucket's limit, as an operator who made room would."""
    config = (await bus.js.stream_info(f"KV_{name}")).config
    config.max_bytes = -1
    await bus.js.update_stream(config)


async def test_oee_keeps_computing_while_its_state_bucket_is_full(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await full_bucket(bus, "plantbus_oee")
    await put_config(bus, OEE)
    snaps = await collected(bus, "plantbus.v1.oee.s.a.l.m1", oee_pb2.OeeSnapshot)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as hub:
        service = hub.services["oee"]
        assert isinstance(service, OeeService)
        await wait_until(lambda: FULL in service.saves.error, message="a save fails")
        assert service.health() == (
            True,
            f"OEE state in KV plantbus_oee failing: {service.saves.error}",
        )
        await wait_until(lambda: detail_says(bus, "oee", FULL), message="the heartbeat says")

        for tag, value in [("state", 1), ("parts", 100), ("parts", 105)]:
            await publish_value(bus, f"s/a/l/m1/{tag}", value)
        await wait_until(
            lambda: any(s.total_count == 5 for s in snaps), message="counts still published"
        )
        await wait_until(lambda: service.saves.failures >= 2, message="tried on the next save")

        await unlimit(bus, "plantbus_oee")
        await wait_until(lambda: service.saves.error == "", message="saved again")
        assert service.health() == (True, "")
        kv = await bus.js.key_value("plantbus_oee")
        assert (await kv.get("line.s.a.l")).value
        await wait_until(lambda: detail_says(bus, "oee", "failing", present=False))


async def test_alerting_raises_and_acknowledges_while_its_state_bucket_is_full(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    await full_bucket(bus, "plantbus_alarms")
    await put_config(bus, ALERTS)
    events = await collected(bus, "plantbus.v1.alarm.>", alerting_pb2.AlarmEvent)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as hub:
        service = hub.services["alerting"]
        assert isinstance(service, AlertingService)
        await wait_until(lambda: service.config_version == 1)
        await publish_value(bus, "s/a/l/m1/temp", 75.0)
        raised = await wait_until(lambda: events and events[-1], message="the alarm is raised")
        assert (raised.id, raised.state) == (ALARM, "unacknowledged")
        serving, detail = service.health()
        assert serving and "alarm states in KV plantbus_alarms failing: " in detail
        assert FULL in detail and "1 alarm states wait to be saved" in detail

        async with operator_channel(hub) as chan:
            acked = await alerting_pb2_grpc.AlertingServiceStub(chan).Acknowledge(
                alerting_pb2.AcknowledgeRequest(id=ALARM, comment="on it"),
                metadata=(("x-plantbus-user", "olga"),),
            )
        assert acked.alarm.state == "acknowledged"  # the operator's action is not refused
        await wait_until(lambda: detail_says(bus, "alerting", FULL), message="the heartbeat says")

        await unlimit(bus, "plantbus_alarms")
        await wait_until(lambda: service.health() == (True, ""), message="saved on a retry")
        kv = await bus.js.key_value("plantbus_alarms")
        (key,) = await kv.keys()
        stored = json.loads((await kv.get(key)).value or b"{}")
        assert (stored["id"], stored["state"]) == (ALARM, "acknowledged")
