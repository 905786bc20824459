"""The maintenance view's proposed actions through the dashboard's HTTP API, against the
real device service (on the simulator's Modbus server) and maintenance service: the
pending proposal is shown with its tag, value, reason and time; deciding it needs a
session (401), its CSRF token (403) and, in the maintenance service, the signed-in user's
``maintenance.approve`` (403 with the service's reason) and write policy (403, the
proposal stays pending); an approval carries no value of its own (400); a rejection
needs a reason and is the user's, audited by the dashboard and the maintenance service.
The one-click approval in a browser is tests/e2e/test_dashboard_proposals.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plantbus.kit.bus import Bus
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2
from tests.integration.dashboard.client import Dashboard, audits, serving
from tests.integration.maintenance.test_maintenance_proposals import ID, M2, SPEED, hub, pending

DECIDE = f"/api/maintenance/proposals/{ID}"


async def _post(dash: Dashboard, path: str, body: Any, csrf: str | None) -> tuple[int, Any]:
    headers = dash.acting(csrf) if csrf else {"Origin": dash.base}
    async with dash.http.post(f"{dash.base}{path}", json=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def test_proposals_are_shown_and_decided_as_the_signed_in_user(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    audit = await audits(bus, "maintenance", "dashboard")
    async with hub(bus, nats_url, tmp_path) as (_, service, m2):
        before = m2.speed_setpoint
        await wait_until(lambda: pending(service) == [ID], timeout=20, message="the proposal")
        async with serving(nats_url, tmp_path, token_user="visitor") as dash:
            assert await _post(dash, f"{DECIDE}/approve", {}, None) == (
                401,
                {"error": await _sign_in_message(dash)},
            )
            csrf = await dash.sign_in()
            status, _ = await _post(dash, f"{DECIDE}/approve", {}, "wrong")
            assert status == 403
            async with dash.http.get(f"{dash.base}/api/maintenance") as reply:
                assert reply.status == 200, await reply.text()
                machines = {m["machine"]: m for m in (await reply.json())["machines"]}
            (shown,) = machines[M2]["proposals"]
            assert (shown["id"], shown["tag"], shown["value"]) == (ID, SPEED, 800)
            assert shown["reason"] and shown["created"] and shown["plan"] == "m2-service"
            status, refused = await _post(dash, f"{DECIDE}/approve", {}, csrf)
            assert status == 403 and "maintenance.approve" in refused["error"]
            status, _ = await _post(dash, f"{DECIDE}/frobnicate", {}, csrf)
            assert status == 404
            status, refused = await _post(dash, f"{DECIDE}/approve", {"value": 2000}, csrf)
            assert status == 400 and "value" in refused["error"]  # the value is the proposal's
        async with serving(nats_url, tmp_path, token_user="olga") as dash:
            csrf = await dash.sign_in()
            status, refused = await _post(dash, f"{DECIDE}/approve", {}, csrf)
            assert status == 403 and "no write policy" in refused["error"]
            assert pending(service) == [ID] and m2.speed_setpoint == before
            status, refused = await _post(dash, f"{DECIDE}/reject", {"reason": " "}, csrf)
            assert status == 400 and "reason" in refused["error"]
            status, rejected = await _post(
                dash, f"{DECIDE}/reject", {"reason": "speed stays tonight"}, csrf
            )
            assert status == 200, rejected
            assert (rejected["state"], rejected["decided_by"]) == (
                "PROPOSAL_STATE_REJECTED",
                "olga",
            )
            assert rejected["note"] == "speed stays tonight"
            assert pending(service) == [] and m2.speed_setpoint == before
    ours = [(a.action, a.actor, a.target) for a in audit["dashboard"] if "proposal" in a.action]
    assert ours == [("dashboard.proposal.reject", "olga", ID)]
    outcomes = [(a.action, a.actor, a.outcome) for a in audit["maintenance"]]
    assert ("maintenance.approve", "visitor", service_pb2.AUDIT_OUTCOME_DENIED) in outcomes
    assert ("maintenance.reject", "olga", service_pb2.AUDIT_OUTCOME_SUCCESS) in outcomes


async def _sign_in_message(dash: Dashboard) -> str:
    async with dash.http.get(f"{dash.base}/api/session") as reply:
        assert reply.status == 401
        return str((await reply.json())["error"])
