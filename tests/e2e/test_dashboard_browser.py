"""The dashboard in a real headless Chromium against a running hub (`plantbus up`): the
operator signs in through a one-time login link, OEE values change live, an alarm is
acknowledged and its state changes, and a screenshot is saved
(tests/e2e/artifacts/dashboard.png). Hostile alarm ids, rule names, messages, downtime
reasons and machine names from the bus are shown as text and never run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest

from plantbus.v1 import alerting_pb2, oee_pb2
from tests.e2e.dashboard_page import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    WATCH_CSP,
    login_link,
    publish,
    raise_bad_quality_alarm,
)

if TYPE_CHECKING:
    from playwright.async_api import Dialog

ALARM = "plc_bad_quality@demo/machining/line1/m1"
TITLE = "Plantbus · line dashboard"
HOSTILE = [
    "x');document.title=localStorage.getItem('plantbus-token');//",
    '"><img src=x onerror="document.title=\'pwned\'">',
    "<script>document.title='pwned'</script>",
    "</div><b id=injected>bold</b><svg onload=alert(1)>",
    "${alert(document.domain)}` + alert(1) + `",
]
MACHINE = "<img src=x onerror=alert('machine')>"  # one subject-free path segment, no '/'
# every element that carries an inline handler, and anything the payloads would add
INJECTED = """() => [...document.querySelectorAll('*')].filter((el) =>
    [...el.attributes].some((a) => a.name.startsWith('on')) || el.id === 'injected'
    || ['IMG', 'IFRAME', 'OBJECT'].includes(el.tagName)
    || (el.tagName === 'SCRIPT' && !el.src)).map((el) => el.outerHTML)"""


@pytest.fixture
def hub(dashboard_hub: dict[str, Any]) -> dict[str, Any]:
    return dashboard_hub


def encoded(name: str) -> str:
    """``name`` as the page's encodeURIComponent puts it in a path."""
    return quote(name, safe="-_.!~*'()")


async def publish_hostile(data: Path) -> None:
    """Alarms, stops and a machine whose every text field is an attack on the page."""
    for n, text in enumerate(HOSTILE):
        alarm = alerting_pb2.AlarmEvent(
            id=f"{text}@{n}",
            rule=text,
            scope="demo/machining/line1/m1",
            state="unacknowledged",
            priority=text,
            message=f"message {n}: {text}",
            note=f"note {n}: {text}",
        )
        alarm.time.GetCurrentTime()
        await publish(data, "plantbus.v1.alarm.demo.machining.line1.m1.hostile", alarm)
        stop = oee_pb2.DowntimeEvent(
            id=f"{text}#{n}", machine=f"machine {n}: {text}", reason=f"reason {n}: {text}"
        )
        stop.start.GetCurrentTime()
        await publish(data, "plantbus.v1.downtime.demo.machining.line1.m1", stop)
    await publish(
        data,
        "plantbus.v1.oee.demo.machining.line1.hostile",
        oee_pb2.OeeSnapshot(
            scope=f"demo/machining/line1/{MACHINE}", state=HOSTILE[1], reason=HOSTILE[0]
        ),
    )


async def test_dashboard_live_oee_and_alarm_acknowledge(hub: dict[str, Any]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        link = login_link(hub)
        await page.goto(link)
        await page.wait_for_selector("[data-testid=connection]:text('live')", timeout=30_000)
        assert await page.get_by_test_id("who").inner_text() == "signed in as operator"
        assert page.url == hub["url"]  # the code left the address bar (and the history)

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

        await raise_bad_quality_alarm(hub["data"])
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

        again = await browser.new_page()  # the same link a second time: refused
        await again.goto(link)
        notice = again.get_by_test_id("notice")
        await notice.wait_for(timeout=10_000)
        assert "unknown, used or expired" in await notice.inner_text()
        assert await again.get_by_test_id("connection").inner_text() == "offline"
        await browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


async def test_hostile_names_are_shown_as_text_and_never_run(hub: dict[str, Any]) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []

        async def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", dismiss)
        await page.add_init_script(WATCH_CSP)
        await page.goto(login_link(hub))
        await page.wait_for_selector("[data-testid=connection]:text('live')", timeout=30_000)
        await page.evaluate("localStorage.setItem('plantbus-token', 'bait')")

        await publish_hostile(hub["data"])
        last = len(HOSTILE) - 1
        await page.get_by_test_id(f"ack-{HOSTILE[last]}@{last}").wait_for(timeout=20_000)
        await expect(page.get_by_test_id(f"state-demo/machining/line1/{MACHINE}")).to_be_visible()
        shown = await page.inner_text("body")
        for n, text in enumerate(HOSTILE):
            for field in ("message", "note", "reason", "machine"):
                assert f"{field} {n}: {text}" in shown, f"{field} {n} not shown as text"
        assert MACHINE in shown

        # the buttons of hostile rows still work: the exact id reaches the dashboard
        for n, text in enumerate(HOSTILE):
            alarm_id = f"{text}@{n}"
            async with page.expect_response(lambda r: "/api/alarms/" in r.url) as acked:
                await page.get_by_test_id(f"ack-{alarm_id}").click()
            reply = await acked.value
            path = urlsplit(reply.url).path
            assert path == f"/api/alarms/{encoded(alarm_id)}/ack"
            assert reply.status == 404  # the alerting service has no such alarm
            await expect(page.get_by_test_id("notice")).to_contain_text("no alarm")
        stop_id = f"{HOSTILE[0]}#0"
        async with page.expect_response(lambda r: "/api/downtimes/" in r.url) as classified:
            await page.get_by_test_id(f"classify-{stop_id}").select_option("jam")
        reply = await classified.value
        assert urlsplit(reply.url).path == f"/api/downtimes/{encoded(stop_id)}/classify"
        await expect(page.get_by_test_id("notice")).to_contain_text("no downtime episode")

        assert dialogs == []
        assert await page.title() == TITLE
        assert await page.evaluate(INJECTED) == []
        assert await page.evaluate("window.__violations") == []
        await browser.close()


async def publish_stop(data: Path, minutes_ago: tuple[int, int]) -> None:
    """An ended stop of m1 in the last hour, as the OEE service publishes it."""
    now_us = time.time_ns() // 1000
    stop = oee_pb2.DowntimeEvent(id="trend-stop", machine="demo/machining/line1/m1", reason="jam")
    stop.kind = oee_pb2.DOWNTIME_KIND_ENDED
    stop.start.FromMicroseconds(now_us - minutes_ago[0] * 60_000_000)
    stop.end.FromMicroseconds(now_us - minutes_ago[1] * 60_000_000)
    await publish(data, "plantbus.v1.downtime.demo.machining.line1.m1", stop)


async def test_trend_view_draws_a_tag_and_oee_with_a_stop_band_and_zooms(
    hub: dict[str, Any],
) -> None:
    """Open the trend, add a tag and the line's OEE, pick a range: data points from the
    historian and the stop as a band on the same axis; a drag zooms in and refetches."""
    from playwright.async_api import async_playwright, expect

    await publish_stop(hub["data"], (20, 10))
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        await page.add_init_script(WATCH_CSP)
        await page.goto(login_link(hub))
        await page.wait_for_selector("[data-testid=connection]:text('live')", timeout=30_000)
        for series in ("demo/machining/line1/m1/spindle_temp", "kpi:demo/machining/line1:oee"):
            await page.get_by_test_id("trend-series").fill(series)
            await page.get_by_test_id("trend-add").click()
        chart = page.get_by_test_id("trend-chart")
        deadline = time.monotonic() + 60
        while True:  # the historian keeps what the hub measured since it started
            await page.get_by_test_id("trend-range").select_option("day")
            await page.get_by_test_id("trend-range").select_option("hour")
            status = page.get_by_test_id("trend-status")
            await expect(status).to_contain_text("points", timeout=20_000)
            points = int(await chart.get_attribute("data-points") or 0)
            stops = int(await chart.get_attribute("data-stops") or 0)
            if points >= 2 and stops >= 1:
                break
            assert time.monotonic() < deadline, f"{points} points, {stops} stops"
            await page.wait_for_timeout(1000)
        assert await page.locator("#trend-chart canvas").count() == 1
        legend = await page.locator("#trend-chart .u-legend").inner_text()
        assert "spindle_temp" in legend and "kpi:demo/machining/line1:oee" in legend
        ARTIFACTS.mkdir(exist_ok=True)
        await chart.screenshot(path=str(ARTIFACTS / "trend.png"))

        box = await page.locator("#trend-chart .u-over").bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        async with page.expect_response(lambda r: "/api/trend" in r.url) as zoomed:
            await page.mouse.move(box["x"] + box["width"] * 0.5, y)
            await page.mouse.down()
            await page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=5)
            await page.mouse.up()
        reply = await (await zoomed.value).json()
        assert reply["end"] - reply["start"] < 0.5 * 3600_000  # about the right half hour
        await expect(page.get_by_test_id("trend-reset")).to_be_visible()
        assert await page.evaluate("window.__violations") == []
        await browser.close()
