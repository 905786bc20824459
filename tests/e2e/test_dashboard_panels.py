"""The alarm-performance panel and the maintenance view in headless Chromium against a
running hub (`plantbus up`, the demo plant with its simulator): the panel shows the
figures `plantbus alarms metrics` gives for the same range, each beside its target; the
maintenance view shows m2's counters and plans, the trend view m2's vibration forecast
with its band; "Maintenance done" is refused to the operator (who lacks
maintenance.record) with the service's reason, and while the role grants it, recording
resets the counter (the grant is taken back after: the other browser tests share the
hub). Without alarm.read and maintenance.read the panels say "Not permitted"."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from plantbus.alerting.service import AlertingService
from plantbus.kit.bus import Bus
from plantbus.maintenance.service import MaintenanceService
from plantbus.testing.config import people
from tests.e2e.dashboard_page import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    WATCH_CSP,
    apply_plant,
    login_link,
    need_chromium,
    raise_bad_quality_alarm,
)
from tests.hub import plantbus
from tests.integration.dashboard.test_panels_api import CONFIG, hosting

if TYPE_CHECKING:
    from playwright.async_api import Browser, Dialog, Page

M2 = "demo/machining/line1/m2"
POSITION_FIGURES = ("average_per_period", "percent_periods_above", "percent_in_flood")


async def signed_in(browser: Browser, link: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 1600})
    await page.add_init_script(WATCH_CSP)
    await page.goto(link)
    await page.wait_for_selector("[data-testid=connection]:text('live')", timeout=30_000)
    return page


def cli_json(hub: dict[str, Any], *args: str) -> dict[str, Any]:
    out = plantbus(*args, "--json", data_dir=hub["data"])
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


async def test_alarm_performance_panel_shows_get_alarm_metrics_with_targets(
    dashboard_hub: dict[str, Any],
) -> None:
    from playwright.async_api import async_playwright, expect

    hub = dashboard_hub
    await raise_bad_quality_alarm(hub["data"])
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await signed_in(browser, login_link(hub))
        summary = page.get_by_test_id("perf-summary")
        panel = page.get_by_test_id("perf")
        deadline = time.monotonic() + 60
        while True:  # the alarm reaches alerting and the historian
            await page.get_by_test_id("perf-range").select_option("shift")
            await page.get_by_test_id("perf-range").select_option("hour")
            await expect(panel).to_have_attribute("data-range", "hour", timeout=20_000)
            await expect(summary).to_contain_text("alarms annunciated", timeout=20_000)
            if not (await summary.inner_text()).startswith("0 "):
                break
            assert time.monotonic() < deadline, await summary.inner_text()
            await page.wait_for_timeout(1000)
        while True:  # a fetch still under way may redraw the panel while the CLI runs
            start = await panel.get_attribute("data-start")
            end = await panel.get_attribute("data-end")
            assert start and end
            m = cli_json(hub, "alarms", "metrics", "--since", start, "--until", end)
            if await panel.get_attribute("data-start") == start:
                break
        assert (await summary.inner_text()).startswith(f"{m.get('annunciated', 0)} alarms")
        assert m["positions"], m
        for position in m["positions"]:
            name = position["position"]
            for key in POSITION_FIGURES:
                cell = page.get_by_test_id(f"perf-{name}-{key}-value")
                shown = float(await cell.inner_text())
                assert abs(shown - position.get(key, 0)) <= 0.005 + 1e-9, key
            peak = page.get_by_test_id(f"perf-{name}-peak-value")
            assert await peak.inner_text() == str(position.get("peak", 0))
        total = max(m["annunciated"], 1)
        for priority, count in m.get("annunciated_by_priority", {}).items():
            cell = page.get_by_test_id(f"perf-priority-{priority}-value")
            shown = float(await cell.inner_text())
            assert abs(shown - 100 * count / total) <= 0.05 + 1e-9, priority
        standing = page.get_by_test_id("perf-standing-value")
        assert await standing.inner_text() == str(len(m.get("standing_alarms", [])))
        # a figure that misses its target is marked: the top 10 are the whole load here
        top = page.get_by_test_id("perf-top_load")
        assert await top.get_attribute("data-ok") == str(m["percent_top_load"] <= 5).lower()
        if m["percent_top_load"] > 5:
            await expect(top).to_contain_text("misses target")
        ARTIFACTS.mkdir(exist_ok=True)
        await panel.screenshot(path=str(ARTIFACTS / "alarm-performance.png"))
        assert await page.evaluate("window.__violations") == []
        await browser.close()


@contextlib.contextmanager
def maintenance_record_granted(hub: dict[str, Any], tmp: Path) -> Iterator[None]:
    """The admin gives the operator role maintenance.record (`plantbus config apply`) for
    the block, and takes it back after: the other tests share this hub."""
    plant = tmp / "plant"
    shutil.copytree(hub["plant"], plant)
    doc = yaml.safe_load((plant / "plant.yaml").read_text())
    (operator,) = [r for r in doc["roles"] if r["name"] == "operator"]
    operator["permissions"].append("maintenance.record")
    (plant / "plant.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    apply_plant(hub, plant, "operators record maintenance")
    try:
        yield
    finally:
        apply_plant(hub, hub["plant"], "operators no longer record maintenance")


@pytest.mark.timeout(420)  # a forecast needs m2 running for three windows after the start
async def test_maintenance_view_counters_forecast_and_done(
    dashboard_hub: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    hub = dashboard_hub
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        before = cli_json(hub, "maintenance", "status", M2)  # the page reads after this
        page = await signed_in(browser, login_link(hub))
        notes: list[str] = []

        async def answer(dialog: Dialog) -> None:
            notes.append(dialog.message)
            await dialog.accept("bearing replaced")

        page.on("dialog", answer)
        await page.get_by_test_id("maint-machine").select_option(M2)
        figures = page.get_by_test_id(f"maint-usage-{M2}/spindle-figures")
        await expect(figures).to_contain_text("cycles", timeout=30_000)
        shown = int((await figures.inner_text()).split(" cycles")[0].split("· ")[-1])
        after = cli_json(hub, "maintenance", "status", M2)

        def cycles(doc: dict[str, Any]) -> int:
            (spindle,) = [u for u in doc["usage"] if u["component"] == "spindle"]
            return int(spindle.get("cycles", 0))

        assert cycles(before) <= shown <= cycles(after)
        for plan in ("m2-bearing", "line-inspection"):
            await expect(page.get_by_test_id(f"maint-plan-{plan}")).to_be_visible()
        await expect(page.get_by_test_id("maint-plan-line-inspection-figures")).to_contain_text(
            "of 30 calendar days, warning from 27"
        )

        # the forecast of m2's bearing on the trend view, in its band (m2 must have run
        # for three windows of 30 s: the simulator may start it stopped)
        await page.get_by_test_id("trend-series").fill(f"{M2}/vibration")
        await page.get_by_test_id("trend-add").click()
        chart = page.get_by_test_id("trend-chart")
        deadline = time.monotonic() + 300
        while int(await chart.get_attribute("data-forecasts") or 0) < 1:
            assert time.monotonic() < deadline, await page.inner_text("#trend-forecast")
            await page.wait_for_timeout(2000)
            await page.get_by_test_id("trend-range").select_option("day")
            await page.get_by_test_id("trend-range").select_option("hour")
        await expect(page.get_by_test_id(f"trend-forecast-{M2}/vibration")).to_contain_text(
            f"Forecast of rms of {M2}/vibration"
        )
        # the windows behind it are on the maintenance view (reloaded every 15 s)
        score = page.get_by_test_id(f"maint-score-{M2}/vibration")
        await expect(score).to_contain_text("rms", timeout=30_000)
        legend = await page.locator("#trend-chart .u-legend").inner_text()
        assert f"forecast rms of {M2}/vibration" in legend and "limit m2-bearing" in legend
        ARTIFACTS.mkdir(exist_ok=True)
        await chart.screenshot(path=str(ARTIFACTS / "forecast.png"))

        # the operator may not record maintenance: the maintenance service says why
        done = page.get_by_test_id(f"maint-done-{M2}/spindle")
        await done.click()
        notice = page.get_by_test_id("notice")
        await expect(notice).to_contain_text("maintenance done refused", timeout=20_000)
        await expect(notice).to_contain_text("maintenance.record")
        assert cycles(cli_json(hub, "maintenance", "status", M2)) >= shown

        with maintenance_record_granted(hub, tmp_path):
            deadline = time.monotonic() + 30
            while True:  # until the grant reaches the maintenance service
                async with page.expect_response(lambda r: "/api/maintenance/done" in r.url) as s:
                    await done.click()
                if (await s.value).status == 200:
                    break
                assert time.monotonic() < deadline, await notice.inner_text()
                await page.wait_for_timeout(1000)
        await expect(page.get_by_test_id("maint-status")).to_contain_text("recorded on")
        record = cli_json(hub, "maintenance", "status", M2)
        (spindle,) = [u for u in record["usage"] if u["component"] == "spindle"]
        assert (spindle["last_note"], spindle["last_by"]) == ("bearing replaced", "operator")
        (earlier,) = [u for u in before["usage"] if u["component"] == "spindle"]
        assert spindle.get("resets", 0) == earlier.get("resets", 0) + 1
        assert cycles(record) < max(shown, 1) + 5  # counting restarted from zero
        await expect(page.get_by_test_id(f"maint-usage-{M2}/spindle")).to_contain_text(
            "last: bearing replaced by operator", timeout=20_000
        )
        assert notes and all("what was done" in n for n in notes)
        assert await page.evaluate("window.__violations") == []
        await browser.close()


async def test_panels_say_not_permitted_without_the_read_permissions(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    """bob may acknowledge alarms but not read alarm metrics or maintenance."""
    from playwright.async_api import async_playwright, expect

    need_chromium()
    config = {**CONFIG, **people(bob=["alarm.acknowledge"], viewer=["oee.read"])}
    services = [AlertingService, MaintenanceService]
    async with (
        hosting(bus, nats_url, tmp_path, services, "bob", config) as dash,
        async_playwright() as p,
    ):
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await signed_in(browser, await dash.login_link())
        perf, maint = page.get_by_test_id("perf-refused"), page.get_by_test_id("maint-refused")
        await expect(perf).to_contain_text("Not permitted", timeout=20_000)
        await expect(perf).to_contain_text("alarm.read")
        await expect(maint).to_contain_text("Not permitted")
        await expect(maint).to_contain_text("maintenance.read")
        await browser.close()
