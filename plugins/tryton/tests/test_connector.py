"""The Tryton connector against a real trytond: what lands in Tryton's own records."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from plantbus_tryton.connector import TrytonConnector, TrytonSettings
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, outputs, state
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import release_order

from plantbus.sdk.connector import Confirmation, WorkOrderStatus
from plantbus.sdk.errors import ErpRejected, ErpUnavailable

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def rpc(tryton_rpc: TrytonRpc) -> TrytonRpc:
    return tryton_rpc


@pytest.fixture
async def connector(tryton: TrytonErp) -> AsyncIterator[TrytonConnector]:
    conn = TrytonConnector(TrytonSettings.model_validate(tryton.settings()))
    await conn.open()
    yield conn
    await conn.close()


def confirmation(order: int, n: int, good: float, scrap: float, **extra: Any) -> Confirmation:
    return Confirmation(
        idempotency_key=f"{order}:{n}",
        work_order_erp_id=str(order),
        good_quantity=0,
        scrap_quantity=0,
        start=NOW,
        end=NOW + dt.timedelta(minutes=n),
        machine="s/a/line1/m1",
        run_seconds=60.0 * n,
        sequence=n,
        total_good=good,
        total_scrap=scrap,
        **extra,
    )


async def test_released_orders_come_in_then_only_changes(
    tryton: TrytonErp, rpc: TrytonRpc, connector: TrytonConnector
) -> None:
    first = await release_order(rpc, tryton.plant, "WO-1001", 40)
    orders, cursor = await connector.list_work_orders(None)
    [order] = orders
    assert (order.erp_id, order.number, order.product_code, order.quantity) == (
        str(first),
        "1 [WO-1001]",
        "SHAFT-20",
        40.0,
    )
    assert order.status == WorkOrderStatus.RELEASED
    assert order.planned_start is not None and order.planned_start.date() == dt.date.today()
    assert [(op.name, op.work_center) for op in order.operations] == [("Turning", "line1")]
    # unchanged orders are not sent again (the same instant may repeat, nothing older)
    again, cursor = await connector.list_work_orders(cursor)
    assert [o.erp_id for o in again] in ([], [str(first)])
    second = await release_order(rpc, tryton.plant, "WO-1002", 5)
    await rpc.call("production", "write", [first], {"reference": "WO-1001-B"})
    changed, _ = await connector.list_work_orders(cursor)
    assert {o.erp_id: o.number for o in changed} == {
        str(first): "1 [WO-1001-B]",
        str(second): "2 [WO-1002]",
    }


async def test_closed_productions_of_the_past_are_never_fetched(
    tryton: TrytonErp, rpc: TrytonRpc, connector: TrytonConnector
) -> None:
    old = await release_order(rpc, tryton.plant, "WO-OLD", 1)
    await rpc.call("production", "cancel", [old])
    orders, cursor = await connector.list_work_orders(None)
    assert (orders, cursor) == ([], "")  # nothing open: still no cursor
    again, cursor = await connector.list_work_orders(cursor)
    assert again == []
    new = await release_order(rpc, tryton.plant, "WO-NEW", 1)
    orders, _ = await connector.list_work_orders(cursor)
    assert [o.erp_id for o in orders] == [str(new)]


async def test_draft_orders_and_other_work_centers_are_not_synced(
    tryton: TrytonErp, rpc: TrytonRpc
) -> None:
    await release_order(rpc, tryton.plant, "WO-1", 1)
    [draft] = await rpc.call("production", "copy", [1], {"reference": "WO-draft"})
    assert await state(rpc, draft) == "draft"
    other = TrytonConnector(TrytonSettings.model_validate(tryton.settings(work_center="line2")))
    here = TrytonConnector(TrytonSettings.model_validate(tryton.settings()))
    try:
        assert (await other.list_work_orders(None))[0] == []
        assert [o.number for o in (await here.list_work_orders(None))[0]] == ["1 [WO-1]"]
    finally:
        await other.close()
        await here.close()


async def test_confirmations_are_booked_once_and_finish_the_production(
    tryton: TrytonErp, rpc: TrytonRpc, connector: TrytonConnector
) -> None:
    order = await release_order(rpc, tryton.plant, "WO-7", 10)
    await connector.set_status(str(order), WorkOrderStatus.RUNNING)
    assert await state(rpc, order) == "running"
    first = confirmation(order, 1, good=3, scrap=1)
    assert await connector.post_confirmation(first) == f"production {order}"
    assert await outputs(rpc, order) == {"storage": 3.0, "lost_found": 1.0}
    # the same confirmation again (a re-delivery): nothing changes in Tryton
    await connector.post_confirmation(first)
    assert await outputs(rpc, order) == {"storage": 3.0, "lost_found": 1.0}
    await connector.post_confirmation(confirmation(order, 3, good=9, scrap=1, final=True))
    # an older confirmation arriving late (a retried dead letter) does not go backwards
    await connector.post_confirmation(confirmation(order, 2, good=6, scrap=1))
    assert await outputs(rpc, order) == {"storage": 9.0, "lost_found": 1.0}
    assert await state(rpc, order) == "done"
    cycles = await rpc.call(
        "production.work.cycle", "search_read", [], 0, None, None, ["duration", "state"]
    )
    assert [(c["duration"], c["state"]) for c in cycles] == [(dt.timedelta(minutes=3), "done")]
    notes = await ledger(rpc, order)
    assert [n.split(":")[0] for n in notes] == [
        f"plantbus confirmation #1 {order}",
        f"plantbus confirmation #3 {order}",
        f"plantbus confirmation #2 {order}",
    ]
    assert "final" in notes[1]
    assert "superseded" in notes[2]


async def test_tryton_refusals_are_rejections_with_its_words(
    tryton: TrytonErp, rpc: TrytonRpc, connector: TrytonConnector
) -> None:
    order = await release_order(rpc, tryton.plant, "WO-9", 10)
    await rpc.call("production", "cancel", [order])
    with pytest.raises(ErpRejected, match="is cancelled in Tryton"):
        await connector.post_confirmation(confirmation(order, 1, good=1, scrap=0))
    with pytest.raises(ErpRejected, match="not a Tryton production id"):
        await connector.set_status("WO-9", WorkOrderStatus.RUNNING)
    running = await release_order(rpc, tryton.plant, "WO-10", 10)
    await connector.set_status(str(running), WorkOrderStatus.RUNNING)
    await rpc.call(
        "stock.location",
        "write",
        [tryton.plant.warehouse],
        {"waste_locations": [["remove", [tryton.plant.scrap]]]},
    )
    # good parts need no waste location; scrap does
    await connector.post_confirmation(confirmation(running, 1, good=1, scrap=0))
    assert await outputs(rpc, running) == {"storage": 1.0}
    with pytest.raises(ErpRejected, match="no waste location"):
        await connector.post_confirmation(confirmation(running, 2, good=1, scrap=1))
    # Tryton's own UserError text comes through verbatim
    with pytest.raises(ErpRejected, match='You can not call "run"'):
        await rpc.call("production", "run", [order])


async def test_down_or_wrong_password_is_unavailable_and_never_shows_the_password(
    tryton: TrytonErp,
) -> None:
    wrong = TrytonConnector(
        TrytonSettings.model_validate(tryton.settings(password="not-the-password"))
    )
    with pytest.raises(ErpUnavailable, match="login refused for user 'admin'") as refused:
        await wrong.open()
    assert "not-the-password" not in str(refused.value)
    await wrong.close()
    connector = TrytonConnector(TrytonSettings.model_validate(tryton.settings()))
    await connector.open()
    tryton.server.stop()
    with pytest.raises(ErpUnavailable, match="unreachable"):
        await connector.list_work_orders(None)
    tryton.server.start()
    orders, _ = await connector.list_work_orders(None)  # the session survives a restart
    assert orders == []
    await connector.close()
