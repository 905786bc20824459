"""NaN and infinity from the bus never reach a browser as invalid JSON: an OEE snapshot
with NaN OEE and infinite downtimes leaves /api/state and the event stream parseable by a
strict JSON parser (as the browser's is), and no NaN point in the trend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from plantbus.kit.bus import Bus
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2
from tests.integration.dashboard.client import serving

SCOPE = "s/a/l"


def strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in JSON sent to the browser: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


async def next_event(stream: aiohttp.StreamReader, kind: str) -> Any:
    """The data of the next ``kind`` event on an SSE stream, strictly parsed."""
    while True:
        lines = (await stream.readuntil(b"\n\n")).decode().strip().split("\n")
        if lines[0] == f"event: {kind}":
            return strict(lines[1].removeprefix("data: "))


async def test_non_finite_numbers_stay_valid_json(bus: Bus, nats_url: str, tmp_path: Path) -> None:
    snap = oee_pb2.OeeSnapshot(scope=SCOPE, oee=float("nan"), downtime_s=float("inf"))
    snap.downtime_by_reason["jam"] = float("-inf")
    async with serving(nats_url, tmp_path) as dash:
        await dash.sign_in()
        async with dash.http.get(f"{dash.base}/api/events") as events:
            assert await events.content.readline() == b": connected\n"
            await bus.publish("plantbus.v1.oee.s.a.l", snap)
            oee = await asyncio.wait_for(next_event(events.content, "oee"), 10)
        assert oee["oee"] == "NaN"

        await wait_until(lambda: SCOPE in dash.service.state.oee)
        async with dash.http.get(f"{dash.base}/api/state") as reply:
            state = strict(await reply.text())
        assert state["oee"][SCOPE]["downtime_s"] == "Infinity"
        assert state["trends"][SCOPE] == []  # NaN is no point on a chart
