"""ERP sync against a real trytond and a real nats-server: productions in, confirmations
booked in Tryton exactly once across an ERP outage, a crash between Tryton's commit and
the outbox ack, and a restart; a rejection dead-lettered with Tryton's words, then retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, outputs, state
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import release_order

from plantbus.erp.service import ErpService
from plantbus.erp.state import saved_confirmed
from plantbus.kit.bus import Bus
from plantbus.sdk.connector import Confirmation
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from tests.erp_tryton_helpers import M1, config, produce, until_done


@pytest.fixture
async def rpc(tryton: TrytonErp) -> AsyncIterator[TrytonRpc]:
    session = tryton.rpc()
    yield session
    await session.close()


async def poll_tryton(rpc: TrytonRpc, production: int, want: dict[str, float]) -> None:
    """Wait until Tryton holds ``want`` for the production's outputs."""

    async def holds() -> bool:
        return await outputs(rpc, production) == want

    await wait_until(holds, timeout=90, interval=0.1, message=f"Tryton holding {want}")


def crash_after_booking(erp: ErpService) -> asyncio.Event:
    """Make the outbox worker die right after Tryton booked the next confirmation and
    before the outbox entry is acknowledged: the window a process crash could hit."""
    connector = erp.connections["tryton"].connector
    real = connector.post_confirmation
    crashed = asyncio.Event()

    async def book_then_die(confirmation: Confirmation) -> str:
        await real(confirmation)
        crashed.set()
        raise asyncio.CancelledError

    connector.post_confirmation = book_then_die  # type: ignore[method-assign]
    return crashed


async def confirmed(erp: ErpService, erp_id: str, n: int) -> bool:
    """Whether confirmation ``n`` of the order is saved (and so on its way to the outbox)."""
    return int((await saved_confirmed(erp.confirmations.kv, erp_id))["n"]) >= n


async def test_orders_in_confirmations_booked_exactly_once(
    bus: Bus, nats_url: str, tryton: TrytonErp, rpc: TrytonRpc, tmp_path: Path
) -> None:
    order = await release_order(rpc, tryton.plant, "WO-1001", 10)
    erp_id = str(order)
    await put_config(bus, config(tryton))
    hub = tmp_path / "hub"
    async with hosted([ErpService], nats_url=nats_url, data_dir=hub) as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        event = await wait_until(lambda: erp.orders.get(erp_id), timeout=30)
        assert (event.number, event.product_code, event.quantity) == ("1 [WO-1001]", "SHAFT-20", 10)
        await erp.start_order(erp_id, M1, "tester")
        assert await state(rpc, order) == "running"
        await produce(bus, erp_id, 4, 3)
        await poll_tryton(rpc, order, {"storage": 3.0, "lost_found": 1.0})
        # Tryton commits confirmation 2, then the service dies before the outbox ack
        crashed = crash_after_booking(erp)
        await produce(bus, erp_id, 7, 6)
        await asyncio.wait_for(crashed.wait(), 30)
        await poll_tryton(rpc, order, {"storage": 6.0, "lost_found": 1.0})
        tryton.server.stop()  # and the ERP goes down
    # restarted while Tryton is down: confirmation 2 comes back from the outbox and waits
    async with hosted([ErpService], nats_url=nats_url, data_dir=hub) as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: not erp.connections["tryton"].worker.reachable, timeout=30)
        await produce(bus, erp_id, 9, 8)
        await wait_until(lambda: erp.orders[erp_id].good_quantity == 8, timeout=30)
        # confirmation 3 (2 good) is taken and waits in the outbox while Tryton is down
        await wait_until(lambda: confirmed(erp, erp_id, 3), timeout=30)
        tryton.server.start()
        await wait_until(lambda: erp.connections["tryton"].worker.reachable, timeout=60)
        await produce(bus, erp_id, 10, 9)
        await wait_until(lambda: erp.orders[erp_id].good_quantity == 9, timeout=30)
        await erp.complete(erp_id, "tester")
        await until_done(rpc, order, timeout=30)
    assert await outputs(rpc, order) == {"storage": 9.0, "lost_found": 1.0}
    # one note per confirmation: the re-sent confirmation 2 was recognised, not booked again
    # (4 or 5 in all: the loop may confirm part 10 before the final one)
    notes = await ledger(rpc, order)
    count = len(notes)
    assert count >= 4
    assert [note.split(": ")[0] for note in notes] == [
        f"plantbus confirmation #{n} {erp_id}:{n}" for n in range(1, count + 1)
    ], notes
    assert notes[-1].endswith("final")
    cycles = await rpc.call(
        "production.work.cycle", "search_read", [], 0, None, None, ["state", "duration"]
    )
    assert [c["state"] for c in cycles] == ["done"]
    assert cycles[0]["duration"].total_seconds() == 20.0  # the order's run time at the end


async def test_rejection_is_dead_lettered_with_trytons_reason_and_retried(
    bus: Bus, nats_url: str, tryton: TrytonErp, rpc: TrytonRpc, tmp_path: Path
) -> None:
    order = await release_order(rpc, tryton.plant, "WO-2001", 5)
    erp_id = str(order)
    await put_config(bus, config(tryton))
    async with hosted([ErpService], nats_url=nats_url, data_dir=tmp_path / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get(erp_id), timeout=30)
        await erp.start_order(erp_id, M1, "tester")
        warehouse, scrap = tryton.plant.warehouse, tryton.plant.scrap
        unlink = {"waste_locations": [["remove", [scrap]]]}
        await rpc.call("stock.location", "write", [warehouse], unlink)
        await produce(bus, erp_id, 2, 1)  # one scrapped part: nowhere to book it
        letters = await wait_until(erp.outbox.dead_letters, timeout=30, message="dead letter")
        assert "no waste location" in letters[0].error
        assert await outputs(rpc, order) == {"storage": 5.0}  # nothing booked
        await rpc.call(
            "stock.location", "write", [warehouse], {"waste_locations": [["add", [scrap]]]}
        )
        assert await erp.outbox.retry(letters[0].confirmation.idempotency_key)
        await poll_tryton(rpc, order, {"storage": 1.0, "lost_found": 1.0})
        assert await erp.outbox.dead_letters() == []


async def test_an_order_cancelled_in_tryton_is_cancelled_in_the_hub(
    bus: Bus, nats_url: str, tryton: TrytonErp, rpc: TrytonRpc, tmp_path: Path
) -> None:
    order = await release_order(rpc, tryton.plant, "WO-3001", 5)
    await put_config(bus, config(tryton))
    async with hosted([ErpService], nats_url=nats_url, data_dir=tmp_path / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        event = await wait_until(lambda: erp.orders.get(str(order)), timeout=30)
        assert event.status == "released"
        await rpc.call("production", "cancel", [order])
        await wait_until(lambda: erp.orders[str(order)].status == "cancelled", timeout=30)
