"""Tag quality on the dashboard at plant scale: every tag's quality is known (``/api/state``)
and its changes reach an open page coalesced, as lists: a first cycle of more tags than a
browser's queue holds is one event, not a dropped browser; a tag turning bad is pushed with
its reason (and again when the reason changes); a message that is not a TagSampleBatch is
dropped and counted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.testing.waiting import wait_until
from plantbus.v1 import telemetry_pb2
from tests.integration.dashboard.client import serving

TAGS = [f"s/a/l/m{m}/t{t}" for m in range(10) for t in range(80)]
"""800 tags: more than the 500 events a browser's queue holds."""


async def _cycles(
    bus: Bus, paths: list[str], quality: telemetry_pb2.Quality, reason: str = ""
) -> None:
    """One poll cycle of each machine's device, as the device service sends it."""
    by_device: dict[str, telemetry_pb2.TagSampleBatch] = {}
    for path in paths:
        machine = path.rpartition("/")[0]
        device = f"plc-{machine.split('/')[3]}"
        batch = by_device.setdefault(device, telemetry_pb2.TagSampleBatch(device=device))
        batch.samples.add(path=path, quality=quality, quality_reason=reason).value.double_value = 1
    for device, batch in by_device.items():
        await bus.publish(subjects.cycle(batch.samples[0].path.rpartition("/")[0], device), batch)


async def _events(stream: aiohttp.ClientResponse, out: list[tuple[str, Any]]) -> None:
    kind = ""
    async for raw in stream.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            out.append((kind, json.loads(line[len("data: ") :])))


async def test_quality_changes_reach_the_page_coalesced(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    async with serving(nats_url, tmp_path, public_read=True) as dash:
        events: list[tuple[str, Any]] = []
        async with dash.http.get(f"{dash.base}/api/events") as stream:
            reading = asyncio.create_task(_events(stream, events))
            await wait_until(lambda: bool(dash.service.streams.clients))  # the page is open
            await _cycles(bus, TAGS, telemetry_pb2.QUALITY_GOOD)
            await wait_until(lambda: len(dash.service.quality.tags) == len(TAGS))
            await _cycles(bus, TAGS, telemetry_pb2.QUALITY_GOOD)  # nothing changed, no push

            def seen() -> dict[str, str]:
                return {q["path"]: q["quality"] for k, d in events if k == "quality" for q in d}

            await wait_until(lambda: len(seen()) == len(TAGS), timeout=10)
            batches = [d for k, d in events if k == "quality"]
            assert len(batches) <= 3  # one per second, not one per tag
            assert set(seen().values()) == {"QUALITY_GOOD"}
            assert dash.service.streams.clients  # still connected: nothing overflowed

            await _cycles(bus, [TAGS[7]], telemetry_pb2.QUALITY_BAD, "connection lost")
            await wait_until(lambda: seen()[TAGS[7]] == "QUALITY_BAD", timeout=10)
            (last,) = [d for k, d in events if k == "quality"][-1]
            assert last["reason"] == "connection lost"
            await _cycles(bus, [TAGS[7]], telemetry_pb2.QUALITY_BAD, "illegal address")
            await wait_until(lambda: dash.service.quality.tags[TAGS[7]]["reason"] != last["reason"])
            assert dash.service.quality.tags[TAGS[7]]["reason"] == "illegal address"
            reading.cancel()

        async with dash.http.get(f"{dash.base}/api/state") as reply:
            quality = (await reply.json())["quality"]
        assert len(quality) == len(TAGS)
        assert quality[TAGS[7]]["quality"] == "QUALITY_BAD"
        assert quality[TAGS[8]]["quality"] == "QUALITY_GOOD"

        await bus.nc.publish(subjects.cycle("s/a/l/m0", "plc-m0"), b"\xff\xff", headers={})
        await wait_until(lambda: dash.service.quality.dropped == 1)
        assert dash.service.quality.tags[TAGS[0]]["quality"] == "QUALITY_GOOD"
