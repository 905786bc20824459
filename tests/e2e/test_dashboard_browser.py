"""The dashboard in a real headless Chromium against a running hub (`plantbus up`): OEE
values change live, an operator acknowledges an alarm and sees its state change, and a
screenshot is saved (tests/e2e/artifacts/dashboard.png)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from plantbus.kit.bus import NatsSettings, connect
from plantbus.v1 import telemetry_pb2
from tests.hub import demo_plant, running_hub

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALARM = "plc_bad_quality@demo/machining/line1/m1"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path / "hub"
    with running_hub(data, "--config", str(demo_plant(tmp_path))):
        runtime = json.loads((data / "runtime.json").read_text())
        yield {
            "url": runtime["dashboard"],
            "token": (data / "dashboard-token").read_text(),
            "nats": runtime["nats_url"],
        }


async def raise_bad_quality_alarm(nats_url: str) -> None:
    """The PLC of m1 reports a bad value for its state tag, as a failing PLC would."""
    bus = await connect(NatsSettings(url=nats_url))
    sample = telemetry_pb2.TagSample(
        path="demo/machining/line1/m1/state",
        quality=telemetry_pb2.QUALITY_BAD,
        quality_reason="connection lost (test)",
    )
    await bus.publish(
        "plantbus.v1.telemetry.demo.machining.line1.m1.state",
        telemetry_pb2.TagSampleBatch(samples=[sample], device="m1-plc"),
    )
    await bus.close()


async def test_dashboard_live_oee_and_alarm_acknowledge(hub: dict[str, str]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{hub['url']}?token={hub['token']}")
        await page.wait_for_selector("[data-testid=connection]:text('live')", timeout=30_000)
        oee = page.locator("[data-testid='oee-demo/machining/line1']")
        await oee.wait_for(timeout=30_000)
        deadline = time.monotonic() + 30
        while (
            first := await oee.inner_text()
        ) == "\u2013":  # the page shows an en dash for "no value"
            assert time.monotonic() < deadline, "no OEE value arrived"
            await page.wait_for_timeout(250)
        while (await oee.inner_text()) == first:
            assert time.monotonic() < deadline + 30, f"OEE stayed at {first}"
            await page.wait_for_timeout(250)

        await raise_bad_quality_alarm(hub["nats"])
        state = page.locator(f"[data-testid='alarm-state-{ALARM}']")
        await state.wait_for(timeout=20_000)
        assert await state.inner_text() in ("unacknowledged", "returned_unacknowledged")
        await page.click(f"[data-testid='ack-{ALARM}']")
        deadline = time.monotonic() + 20
        while await state.count() and await state.inner_text() in (
            "unacknowledged",
            "returned_unacknowledged",
        ):
            assert time.monotonic() < deadline, "alarm state did not change after Ack"
            await asyncio.sleep(0.2)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        await browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
