"""Maintenance requests as Tryton project tasks, against a real trytond with the project
module: one task per request key however often it is sent, its words as written, Tryton's
refusals and outages told apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from plantbus_tryton.maintenance import TrytonRequests, TrytonRequestSettings
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import project_tasks
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import maintenance_project

from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceRequest

PROJECT = "Maintenance"

REQUEST = MaintenanceRequest(
    key="m3-pump:2:warning:tryton",
    plan="m3-pump",
    machine="plant/paint/line2/m3",
    component="pump",
    reason="warning",
    message="pressure std of m3 predicted to reach 0.8 in 30 h (20 h-44 h)",
    time=datetime(2026, 12, 1, 12, tzinfo=UTC),
    due=datetime(2026, 12, 2, 18, tzinfo=UTC),
    usage={"running_hours": 1210.25, "starts": 88.0},
)


@pytest.fixture
def rpc(tryton_rpc: TrytonRpc) -> TrytonRpc:
    return tryton_rpc


def sender(tryton: TrytonErp, **extra: Any) -> TrytonRequests:
    """The connector on the test's trytond."""
    settings = tryton.request_settings(PROJECT, **extra)
    return TrytonRequests(TrytonRequestSettings.model_validate(settings))


async def test_a_request_becomes_one_task_however_often_it_is_sent(
    tryton: TrytonErp, rpc: TrytonRpc
) -> None:
    project = await maintenance_project(rpc, tryton.plant.company)
    await maintenance_project(rpc, tryton.plant.company, "Other")
    requests = sender(tryton)
    try:
        reference = await requests.send(REQUEST)
        assert await requests.send(REQUEST) == reference  # a redelivery: found, not created
        other = replace(REQUEST, key="m3-pump:2:due:tryton")
        assert await requests.send(other) != reference
    finally:
        await requests.close()
        await requests.close()
    again = sender(tryton)
    try:  # a fresh connector (after a restart) finds the task too
        assert await again.send(REQUEST) == reference
    finally:
        await again.close()
    filed = await project_tasks(rpc, project)
    assert len(filed) == 2
    task = next(t for t in filed if t["number"] == reference)
    assert task["name"] == "m3 pump: warning (m3-pump)"
    assert (task["type"], task["company"]) == ("task", tryton.plant.company)
    assert task["comment"].splitlines() == [
        REQUEST.message,
        "machine: plant/paint/line2/m3",
        "component: pump",
        "due: 2026-12-02T18:00+00:00",
        "running_hours: 1210.25",
        "starts: 88",
        "raised: 2026-12-01T12:00:00+00:00",
        "plantbus request m3-pump:2:warning:tryton",
    ]


async def test_a_key_with_like_wildcards_matches_only_itself(
    tryton: TrytonErp, rpc: TrytonRpc
) -> None:
    await maintenance_project(rpc, tryton.plant.company)
    requests = sender(tryton)
    try:
        first = await requests.send(replace(REQUEST, key="p_1:0:due:t"))
        second = await requests.send(replace(REQUEST, key="pa1:0:due:t"))
    finally:
        await requests.close()
    assert first != second


async def test_a_missing_project_is_refused_and_an_outage_is_retried(
    tryton: TrytonErp, rpc: TrytonRpc
) -> None:
    requests = sender(tryton)
    try:
        with pytest.raises(NotifierRejected, match="no project 'Maintenance': create it"):
            await requests.send(REQUEST)
        await maintenance_project(rpc, tryton.plant.company)
        tryton.server.stop()
        with pytest.raises(NotifierUnavailable, match="unreachable"):
            await requests.send(REQUEST)
        tryton.server.start()
        assert await requests.send(REQUEST)
    finally:
        await requests.close()
    wrong = sender(tryton, password="not-the-password")
    with pytest.raises(NotifierUnavailable, match="login refused") as refused:
        await wrong.send(REQUEST)
    assert "not-the-password" not in str(refused.value)
    await wrong.close()
