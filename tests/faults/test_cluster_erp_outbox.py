"""The ERP sync service (against a real trytond) on a real 3-node JetStream cluster with
every stream and bucket R3: SIGKILL the nats-server that leads the confirmation outbox,
twice, while m1 produces; the outbox moves to another node with every confirmation in
it, and Tryton books each exactly once, in order, ending with the hub's counts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, state
from plantbus_tryton.sample import release_order

from plantbus.erp.service import ErpService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import PlantbusError
from plantbus.testing.cluster import NatsCluster
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from tests.erp_tryton_helpers import M1, booked_once, config
from tests.faults.test_erp_outage import Line

KILLS = 2
OUTBOX = streams.ERP_OUTBOX.name


async def _complete(erp: ErpService, erp_id: str, timeout: float) -> None:
    """Complete the order as an operator would: a refusal that says try again (the audit
    stream or the outbox has no leader yet after the kills) is tried again until
    ``timeout``, which names the last refusal and the service's health."""
    refusals: list[str] = []

    async def completed() -> bool:
        try:
            await erp.complete(erp_id, "tester")
        except PlantbusError as err:
            if not err.retryable:
                raise
            refusals.append(f"{type(err).__name__}: {err}")
            return False
        return True

    try:
        await wait_until(completed, timeout=timeout, interval=0.2, message="completed")
    except TimeoutError as err:
        last = refusals[-1] if refusals else "none: a call did not return"
        raise TimeoutError(
            f"{err}; {len(refusals)} refusals, the last {last}; health {erp.health()}"
        ) from None


@pytest.mark.slow
@pytest.mark.timeout(240)  # about 60 s
async def test_killing_the_outbox_leader_books_every_confirmation_once_in_order(
    cluster_bus: Bus, nats_cluster: NatsCluster, tryton: TrytonErp, tmp_path: Path
) -> None:
    await streams.provision(cluster_bus)  # R3, as plantbus up does before the services
    rpc = tryton.rpc()
    line: Line | None = None
    figures = []
    try:
        order = await release_order(rpc, tryton.plant, "WO-9101", 1000)
        erp_id = str(order)
        await put_config(cluster_bus, config(tryton, confirm_interval_s=0.5, poll_interval_s=0.5))
        hub = tmp_path / "hub"
        async with hosted([ErpService], nats_url=nats_cluster.urls, data_dir=hub) as runner:
            erp = runner.services["erp"]
            assert isinstance(erp, ErpService)
            await wait_until(lambda: erp.orders.get(erp_id), timeout=30, message="order in hub")
            await erp.start_order(erp_id, M1, "tester")
            line = Line(cluster_bus, erp_id)

            async def booked() -> int:
                return len(await ledger(rpc, order))

            await wait_until(booked, timeout=30, message="first confirmation booked")
            for _ in range(KILLS):
                assert (await cluster_bus.js.stream_info(OUTBOX)).config.num_replicas == 3
                leader = await nats_cluster.leader(cluster_bus, OUTBOX)
                before = await booked()
                killed_at = time.monotonic()
                leader.server.kill()

                async def booked_again() -> bool:
                    return await booked() > before  # noqa: B023 - awaited in this iteration

                await wait_until(booked_again, timeout=30, interval=0.2, message="booked again")
                figures.append(
                    f"{leader.name} killed: booked again {time.monotonic() - killed_at:.1f} s later"
                )
                leader.server.restart()  # here, not in a thread: see plantbus.testing.cluster
                await wait_until(
                    lambda: nats_cluster.caught_up(cluster_bus, [OUTBOX]),
                    timeout=30,
                    message=f"{leader.name} caught up",
                )

            await line.stop()
            good, scrap = line.good, line.scrap
            await wait_until(
                lambda: (
                    (erp.orders[erp_id].good_quantity, erp.orders[erp_id].scrap_quantity)
                    == (good, scrap)
                ),
                timeout=10,
                message="last snapshot in hub",
            )
            await _complete(erp, erp_id, timeout=90)  # Tryton is slow with two workers

            async def all_booked() -> bool:
                return await erp.outbox.pending("tryton") == 0

            await wait_until(all_booked, timeout=30, interval=0.2, message="outbox emptied")
            assert await state(rpc, order) == "done"
            assert await erp.outbox.dead_letters() == []
        notes = await booked_once(rpc, order, good, scrap)
        print("; ".join(figures), f"; {len(notes)} confirmations booked once, in order")
    finally:
        if line is not None and not line.task.done():
            await line.stop()
        await rpc.close()
