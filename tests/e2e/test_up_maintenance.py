"""`plantbus up --wear-speed 2400` with a real trytond as the maintenance connector's
target: m2's wearing bearing is forecast on the dashboard (its authenticated JSON API,
what the maintenance view reads), and one maintenance request reaches Tryton as a
project task before the failure the simulator's ground truth names, and only one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from plantbus_tryton.devserver import ADMIN_PASSWORD
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import project_tasks
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import maintenance_project

from plantbus.cli.sim import TRUTH_FILE
from plantbus.kit.outbox import REDELIVERY_S
from plantbus.kit.truth import read_truth
from plantbus.sim.wear import MAX_WEAR_SPEED
from plantbus.testing.waiting import wait_until
from tests.hub import demo_plant, plantbus, running_hub

M2 = "demo/machining/line1/m2"
TASK = "m2 spindle: warning (m2-bearing)"


def with_tryton_requests(plant: Path, tryton: TrytonErp) -> None:
    """The demo plant's maintenance requests go to the test's trytond, at warning."""
    path = plant / "maintenance.yaml"
    doc = yaml.safe_load(path.read_text())
    settings = tryton.request_settings("Maintenance", password="env:TRYTON_PASSWORD")
    doc["maintenance"]["requests"] = [
        {"name": "erp", "connector": "tryton", "on": ["warning"], "settings": settings}
    ]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


async def signed_in(http: aiohttp.ClientSession, data: Path) -> str:
    """Sign in with a link from `plantbus dashboard login`, as the page does; its URL."""
    out = plantbus("dashboard", "login", data_dir=data)
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip()
    base = link.partition("/login#")[0]
    body = {"code": link.partition("#")[2]}
    async with http.post(f"{base}/api/session", json=body, headers={"Origin": base}) as reply:
        assert reply.status == 200, await reply.text()
    return base


async def bearing_plan(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """m2's bearing plan as GET /api/maintenance gives it, once it has a forecast ({}
    before)."""
    async with http.get(f"{base}/api/maintenance", params={"machine": M2}) as reply:
        assert reply.status == 200, await reply.text()
        machines = (await reply.json())["machines"]
    plans = [p for m in machines if m["machine"] == M2 for p in m["plans"]]
    plan: dict[str, Any] = next((p for p in plans if p["plan"] == "m2-bearing"), {})
    forecast = plan.get("forecast", {})
    return plan if forecast.get("hours") is not None and forecast.get("points") else {}


async def filed(rpc: TrytonRpc, project: int) -> list[dict[str, Any]]:
    return [t for t in await project_tasks(rpc, project) if t["type"] == "task"]


@pytest.mark.slow
@pytest.mark.timeout(360)  # the hub's start, the warning up to 144 s after the simulator's
async def test_the_wearing_bearing_is_forecast_and_requested_before_it_fails(
    tryton: TrytonErp, tryton_rpc: TrytonRpc, tmp_path: Path
) -> None:
    project = await maintenance_project(tryton_rpc, tryton.plant.company)
    plant = demo_plant(tmp_path)
    with_tryton_requests(plant, tryton)
    data = tmp_path / "hub"
    speed = ["--wear-speed", f"{MAX_WEAR_SPEED:g}"]
    env = {"TRYTON_PASSWORD": ADMIN_PASSWORD}
    with running_hub(data, "--config", str(plant), *speed, env=env):
        truth = data / TRUTH_FILE
        await wait_until(truth.exists, timeout=30, message="the simulator's ground truth")
        failure = read_truth(truth)[0][0]
        assert failure.machine == M2
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = await signed_in(http, data)
            plan: dict[str, Any] = await wait_until(
                lambda: bearing_plan(http, base),
                timeout=max(failure.time - time.time(), 0) + 30,
                interval=1.0,
                message="a forecast of m2's bearing on the dashboard",
            )
        tasks: list[dict[str, Any]] = await wait_until(
            lambda: filed(tryton_rpc, project),
            timeout=max(failure.time - time.time(), 0) + 30,
            interval=1.0,
            message="the maintenance request in Tryton",
        )
        seen = time.time()
        # a redelivery's worth of time later (and many forecast windows) still one task
        await wait_until(lambda: time.time() > seen + REDELIVERY_S + 5, timeout=60, interval=1.0)
        again = await filed(tryton_rpc, project)
    forecast = plan["forecast"]
    assert forecast["tag"] == f"{M2}/vibration" and forecast["limit"] == 7.1, plan
    assert plan["warning"] == pytest.approx(0.4 * 120 / MAX_WEAR_SPEED), plan  # scaled
    assert seen < failure.time, f"the request came {seen - failure.time:.0f} s after the failure"
    assert [t["name"] for t in again] == [TASK], json.dumps(again, indent=1)
    assert again[0]["comment"].endswith("plantbus request m2-bearing:0:warning:erp")
    assert tasks == again
