"""Alerting reads only the telemetry of the tags its rules judge (server-side filtering),
and follows a config that adds a rule on another tag without missing a sample."""

from __future__ import annotations

import copy
from pathlib import Path

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected, handled_paths, publish_value
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2

from .test_alerting_service import CONFIG


async def test_only_the_rules_machines_are_read_and_a_new_rules_machine_is_followed(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    events = await collected(bus, "plantbus.v1.alarm.>", alerting_pb2.AlarmEvent)
    await put_config(bus, CONFIG)
    async with hosted([AlertingService], nats_url=nats_url, data_dir=tmp_path) as runner:
        svc = runner.services["alerting"]
        assert isinstance(svc, AlertingService)
        await wait_until(lambda: svc.config_version == 1)
        assert svc.feed.source.subjects == ["plantbus.v1.cycle.s.a.l.m1.*"]
        handled = handled_paths(svc.feed)
        for _ in range(5):
            await publish_value(bus, "s/a/l/m2/pressure", 99.0)
        await publish_value(bus, "s/a/l/m1/pressure", 99.0)  # delivered, judged by no rule
        await publish_value(bus, "s/a/l/m1/temp", 75.0)
        await wait_until(lambda: events, message="the temperature alarm")
        assert handled == ["s/a/l/m1/pressure", "s/a/l/m1/temp"], "no other machine's samples"
        assert [e.rule for e in events] == ["hot"]

        wider = copy.deepcopy(CONFIG)
        wider["sites"][0]["areas"][0]["lines"][0]["machines"].append({"name": "m2"})
        wider["alert_rules"].append(
            {"name": "press", "kind": "high", "machine": "s/a/l/m2", "tag": "pressure", "limit": 9}
        )
        await put_config(bus, wider)
        await wait_until(lambda: svc.config_version == 2)
        assert len(svc.feed.source.subjects) == 2
        await publish_value(bus, "s/a/l/m2/pressure", 12.0)
        await wait_until(lambda: any(e.rule == "press" for e in events), message="pressure alarm")
        assert handled == ["s/a/l/m1/pressure", "s/a/l/m1/temp", "s/a/l/m2/pressure"], (
            "nothing read twice"
        )
