"""The ERP (a real trytond) down for a full minute while m1 keeps producing: the hub keeps
every confirmation in its outbox, and once Tryton is back each is booked exactly once, in
order, so Tryton ends with the hub's counts: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, state
from plantbus_tryton.sample import release_order

from plantbus.erp.service import ErpService
from plantbus.kit.bus import Bus
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from tests.erp_tryton_helpers import M1, booked_once, config, produce

OUTAGE_S = 60.0
TICK_S = 0.5  # m1 makes a part every tick
SCRAP_EVERY = 7  # every seventh part is scrap


class Line:
    """m1 making parts of one order until stopped; its counts are the truth."""

    def __init__(self, bus: Bus, order: str) -> None:
        self.bus, self.order = bus, order
        self.total = self.good = 0
        self.stopped = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name="m1")

    @property
    def scrap(self) -> int:
        return self.total - self.good

    async def _run(self) -> None:
        while not self.stopped.is_set():
            self.total += 1
            if self.total % SCRAP_EVERY:
                self.good += 1
            await produce(self.bus, self.order, self.total, self.good)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), TICK_S)

    async def stop(self) -> None:
        self.stopped.set()
        await self.task


@pytest.mark.slow
@pytest.mark.timeout(150)  # about 72 s; 105 s when Tryton is back just after a 30 s back-off
async def test_a_minute_of_erp_outage_loses_and_doubles_nothing(
    bus: Bus, nats_url: str, tryton: TrytonErp, tmp_path: Path
) -> None:
    rpc = tryton.rpc()
    line: Line | None = None
    try:
        order = await release_order(rpc, tryton.plant, "WO-9001", 1000)
        erp_id = str(order)
        await put_config(bus, config(tryton, confirm_interval_s=1.0, poll_interval_s=0.5))
        async with hosted([ErpService], nats_url=nats_url, data_dir=tmp_path / "hub") as runner:
            erp = runner.services["erp"]
            assert isinstance(erp, ErpService)
            await wait_until(lambda: erp.orders.get(erp_id), timeout=30, message="order in hub")
            worker = erp.connections["tryton"].worker
            await erp.start_order(erp_id, M1, "tester")
            line = Line(bus, erp_id)

            async def first_booked() -> bool:
                return bool(await ledger(rpc, order))

            await wait_until(first_booked, timeout=30, message="first confirmation booked")

            # -- the outage: Tryton is down for a full minute while m1 keeps producing
            await asyncio.to_thread(tryton.server.stop)
            down_at = time.monotonic()
            await wait_until(lambda: not worker.reachable, timeout=30, message="unreachable")
            pending = [await erp.outbox.pending("tryton")]
            while (left := OUTAGE_S - (time.monotonic() - down_at)) > 0:
                await asyncio.sleep(min(5.0, left))  # the outage is the time passing
                assert not worker.reachable, worker
                pending.append(await erp.outbox.pending("tryton"))
            pending_at_end = pending[-1]
            outage_s = time.monotonic() - down_at
            await asyncio.to_thread(tryton.server.start)
            up_at = time.monotonic()
            assert outage_s >= OUTAGE_S, f"Tryton was down only {outage_s:.1f} s"
            # the confirmations are kept: the outbox only grows while Tryton is away
            assert pending == sorted(pending) and pending_at_end > pending[0] + 20, pending

            # -- Tryton is back: finish the order; everything waiting is booked
            await line.stop()
            good, scrap = line.good, line.scrap
            assert scrap > 0

            def hub_counts() -> tuple[float, float]:
                return erp.orders[erp_id].good_quantity, erp.orders[erp_id].scrap_quantity

            await wait_until(
                lambda: hub_counts() == (good, scrap), timeout=10, message="last snapshot in hub"
            )
            await erp.complete(erp_id, "tester")

            async def all_booked() -> bool:
                # an entry leaves the outbox once Tryton booked it, the final one last
                return await erp.outbox.pending("tryton") == 0

            # the back-off is capped at 30 s: the next try may come that long after the restart
            await wait_until(all_booked, timeout=60, interval=0.2, message="outbox emptied")
            recovered_s = time.monotonic() - up_at
            assert await state(rpc, order) == "done"
            assert worker.reachable and worker.dead == 0, worker
            assert await erp.outbox.dead_letters() == []
        figures = (
            f"outage {outage_s:.1f} s, {pending_at_end} confirmations pending at its end, "
            f"all booked {recovered_s:.1f} s after Tryton was back"
        )
        print(figures)
        # Tryton ends with the hub's counts: nothing lost, nothing doubled
        notes = await booked_once(rpc, order, good, scrap)
        assert len(notes) > pending_at_end, (figures, notes)
    finally:
        if line is not None and not line.task.done():
            await line.stop()
        await rpc.close()
