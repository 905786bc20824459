"""One-click approval of a proposed setpoint change in headless Chromium, against the real
device service on the simulator's Modbus server and the maintenance service (in-process,
tests/integration/maintenance/test_maintenance_proposals.py's hub): the maintenance view
shows m2's pending proposal; one click on Approve, with no dialog, writes the proposed
value to the PLC's register as the signed-in engineer through the device service's
policy-checked WriteTag; the page says what was written and read back, the proposal
leaves the list, and the device service, the maintenance service and the dashboard
audit it as the engineer's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plantbus.kit.bus import Bus
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2
from tests.e2e.dashboard_page import ARGS, CHROMIUM, need_chromium
from tests.e2e.test_dashboard_panels import signed_in
from tests.integration.dashboard.client import audits, serving
from tests.integration.maintenance.test_maintenance_proposals import ID, M2, SPEED, hub, pending

if TYPE_CHECKING:
    from playwright.async_api import Dialog

SUCCESS = service_pb2.AUDIT_OUTCOME_SUCCESS


async def test_a_proposal_is_approved_with_one_click_and_written_as_the_user(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    need_chromium()
    audit = await audits(bus, "device", "maintenance", "dashboard")
    async with (
        hub(bus, nats_url, tmp_path) as (_, service, m2),
        serving(nats_url, tmp_path, token_user="eng") as dash,
        async_playwright() as p,
    ):
        before = m2.speed_setpoint
        assert before != 800
        await wait_until(lambda: pending(service) == [ID], timeout=20, message="the proposal")
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await signed_in(browser, await dash.login_link())
        dialogs: list[str] = []

        async def refuse(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", refuse)
        await page.get_by_test_id("maint-machine").select_option(M2)
        row = page.get_by_test_id(f"maint-proposal-{ID}")
        await expect(row).to_contain_text("speed_setpoint → 800.00", timeout=20_000)
        await expect(row).to_contain_text(SPEED)
        await expect(row).to_contain_text("plan m2-service")

        await page.get_by_test_id(f"maint-approve-{ID}").click()
        status = page.get_by_test_id("maint-status")
        await expect(status).to_contain_text(f"applied {ID}: {SPEED} = 800.00 by eng")
        await expect(status).to_contain_text("read back 800")
        assert m2.speed_setpoint == 800  # the PLC's register
        await expect(page.get_by_test_id("maint")).to_contain_text("none pending")
        await expect(row).to_have_count(0)
        assert dialogs == []  # one click: nothing asked
        assert await page.evaluate("window.__violations") == []
        await browser.close()
    written = [
        (a.actor, a.target, a.attributes["via"]) for a in audit["device"] if a.outcome == SUCCESS
    ]
    assert written == [("eng", SPEED, "maintenance")]
    approved = [(a.action, a.actor) for a in audit["maintenance"] if a.outcome == SUCCESS]
    assert ("maintenance.approve", "eng") in approved
    ours = [(a.action, a.actor, a.target) for a in audit["dashboard"] if "proposal" in a.action]
    assert ours == [("dashboard.proposal.approve", "eng", ID)]
