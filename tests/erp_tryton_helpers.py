"""The ERP sync service against a real trytond, for tests: a one-line plant with an ERP
connection to the test's own Tryton, and OEE snapshots of machine m1's order counts."""

from __future__ import annotations

from typing import Any

from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, outputs, state
from plantbus_tryton.rpc import TrytonRpc

from plantbus.kit.bus import Bus
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2

M1 = "s/a/line1/m1"


def config(tryton: TrytonErp, **connection: Any) -> dict[str, Any]:
    """Plant config: site s, line line1 with m1, and the ERP connection ``tryton``
    (quick polls and confirmations; ``connection`` overrides its fields)."""
    line = {"name": "line1", "machines": [{"name": "m1"}]}
    return {
        "sites": [{"name": "s", "areas": [{"name": "a", "lines": [line]}]}],
        "erp": [
            {
                "name": "tryton",
                "connector": "tryton",
                "site": "s",
                "line": "line1",
                "poll_interval_s": 0.2,
                "confirm_interval_s": 0.3,
                "redelivery_s": 2,
                "settings": tryton.config_settings(),
                **connection,
            }
        ],
    }


async def produce(bus: Bus, order: str, total: int, good: int) -> None:
    """The OEE snapshot of m1 having made ``total`` parts of ``order``, ``good`` of them good
    (2 s of run time a part)."""
    snap = oee_pb2.OeeSnapshot(
        scope=M1,
        work_order=order,
        order_total_count=total,
        order_good_count=good,
        order_run_s=2.0 * total,
        state="running",
    )
    await bus.publish("plantbus.v1.oee.s.a.line1.m1", snap)


async def until_done(rpc: TrytonRpc, production: int, timeout: float) -> None:
    """Wait until Tryton shows the production done (the final confirmation finishes it)."""

    async def done() -> bool:
        return await state(rpc, production) == "done"

    await wait_until(done, timeout=timeout, interval=0.1, message=f"production {production} done")


async def booked_once(rpc: TrytonRpc, production: int, good: int, scrap: int) -> list[str]:
    """Assert that Tryton ends with the hub's counts, every confirmation of ``production``
    booked once and in order (#1, #2, ..., the final one last); its ledger notes."""
    assert await outputs(rpc, production) == {"storage": good, "lost_found": scrap}
    notes = await ledger(rpc, production)
    assert [note.split(": ")[0] for note in notes] == [
        f"plantbus confirmation #{n} {production}:{n}" for n in range(1, len(notes) + 1)
    ], notes
    assert notes and notes[-1].endswith("final"), notes
    assert not any(note.endswith("final") for note in notes[:-1]), notes
    return notes
