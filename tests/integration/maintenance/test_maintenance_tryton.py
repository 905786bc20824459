"""Maintenance requests through the outbox to a real trytond (project module): a due
point queued twice, and delivered twice, is one task."""

from __future__ import annotations

import time
from typing import Any

from plantbus_tryton.maintenance import TrytonRequests, TrytonRequestSettings
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import project_tasks
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import maintenance_project

from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.maintenance.requests import RequestWorker, enqueue, request_key, request_of
from plantbus.sdk.maintenance import MaintenanceConnector
from plantbus.testing.waiting import wait_until


async def test_a_due_point_reaches_tryton_as_one_task(
    bus: Bus, tryton: TrytonErp, tryton_rpc: TrytonRpc
) -> None:
    rpc = tryton_rpc
    project = await maintenance_project(rpc, tryton.plant.company)
    kv = await streams.open_bucket(bus, streams.MAINTENANCE_STATE)
    await streams.ensure_stream(bus, streams.MAINTENANCE_OUTBOX)
    settings = tryton.request_settings("Maintenance")
    key = request_key("m2-bearing", 0, "due", "erp")
    request = request_of(
        key, "erp", "m2-bearing", "s/a/l/m2", "spindle", "due", "rms reached 7.1", time.time(),
        {"running_hours": 12.0}, None,
    )  # fmt: skip

    connector: MaintenanceConnector[Any] = TrytonRequests(
        TrytonRequestSettings.model_validate(settings)
    )
    worker = RequestWorker(bus, kv, "erp", connector)
    await worker.start()
    try:
        assert await enqueue(bus, kv, request)
        assert not await enqueue(bus, kv, request)  # the same due point: queued once
        await wait_until(lambda: worker.sent == 1, timeout=20, message="the request filed")
        # delivered again (an ack lost on the way back): Tryton's task is found, not made
        await bus.js.publish(subjects.maintenance_outbox("erp"), request.SerializeToString())
        await wait_until(lambda: worker.sent == 2, timeout=20, message="the repeat filed")
        assert [row["name"] for row in await project_tasks(rpc, project)] == [
            "m2 spindle: due (m2-bearing)"
        ]
        assert worker.references == {key: (await project_tasks(rpc, project))[0]["number"]}
    finally:
        await worker.stop()
