"""OEE reads only the tags its mappings read (server-side filtering) and follows a config
that maps another machine, from right after the last message it read."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.oee.service import OeeService
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.messages import collected, store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2, telemetry_pb2

from .test_oee_service import CONFIG, Feed


@pytest.fixture
async def feed(bus: Bus) -> Feed:
    await streams.ensure_stream(bus, streams.CYCLES)
    await put_config(bus, CONFIG)
    return Feed(bus)


async def send(bus: Bus, path: str, value: int) -> None:
    sample = telemetry_pb2.TagSample(path=path, quality=telemetry_pb2.QUALITY_GOOD)
    sample.value.int_value = value
    sample.source_time.FromNanoseconds(time.time_ns())
    await store_samples(bus, sample)


async def test_only_mapped_machines_are_read_and_a_new_mapping_is_followed(
    bus: Bus, nats_url: str, tmp_path: Path, feed: Feed
) -> None:
    snaps = await collected(bus, "plantbus.v1.oee.>", oee_pb2.OeeSnapshot)
    async with hosted([OeeService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["oee"]
        assert isinstance(service, OeeService)
        source = service.share.source
        await wait_until(lambda: service.config_version == 1 and source.sub is not None)
        assert source.subjects == ["plantbus.v1.cycle.s.a.l.m1.*"]
        read: list[str] = []
        on_batch = service.share._on_batch

        async def counting(generation: int, msg: Any) -> None:
            read.append(msg.subject)
            await on_batch(generation, msg)

        service.share._on_batch = counting  # type: ignore[method-assign]
        for _ in range(5):
            await send(bus, "s/a/l/m2/state", 3)  # no mapping reads m2 yet
        await feed.send("state", 1)
        await wait_until(lambda: any(s.scope == "s/a/l/m1" and s.state for s in snaps))
        assert read == ["plantbus.v1.cycle.s.a.l.m1.plc"]

        wider = copy.deepcopy(CONFIG)
        wider["sites"][0]["areas"][0]["lines"][0]["machines"].append({"name": "m2"})
        wider["oee"].append({**CONFIG["oee"][0], "machine": "s/a/l/m2"})
        await put_config(bus, wider)
        await wait_until(lambda: service.config_version == 2)
        assert source.subjects == ["plantbus.v1.cycle.s.a.l.m1.*", "plantbus.v1.cycle.s.a.l.m2.*"]
        await send(bus, "s/a/l/m2/state", 3)
        await wait_until(lambda: any(s.scope == "s/a/l/m2" and s.state for s in snaps))
        assert next(s.state for s in snaps if s.scope == "s/a/l/m2" and s.state) == "stopped"
        assert read == [
            "plantbus.v1.cycle.s.a.l.m1.plc",
            "plantbus.v1.cycle.s.a.l.m2.plc",
        ], "nothing read twice"
