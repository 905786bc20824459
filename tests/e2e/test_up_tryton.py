"""`plantbus up` configured for Tryton: a production released in a real trytond runs on
the simulated m1 and comes back done, with its parts booked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from plantbus_tryton.devserver import ADMIN_PASSWORD
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import ledger, outputs
from plantbus_tryton.sample import release_order

from tests.erp_tryton_helpers import until_done
from tests.hub import EXAMPLES, demo_plant, plantbus, running_hub


@pytest.mark.slow
async def test_work_orders_flow_from_tryton_to_the_machine_and_back(
    tryton: TrytonErp, tmp_path: Path
) -> None:
    rpc = tryton.rpc()
    order = await release_order(rpc, tryton.plant, "WO-E2E", 3)
    plant = demo_plant(tmp_path)
    erp = yaml.safe_load((EXAMPLES / "tryton" / "erp.yaml").read_text())
    erp["erp"][0].update(poll_interval_s=1, confirm_interval_s=2)
    erp["erp"][0]["settings"]["url"] = tryton.server.url
    (plant / "erp.yaml").write_text(yaml.safe_dump(erp))
    data = tmp_path / "hub"
    with running_hub(data, "--config", str(plant), env={"TRYTON_PASSWORD": ADMIN_PASSWORD}):
        await until_done(rpc, order, timeout=120)  # hub start, ~2 s a part, confirmations
        orders = plantbus("erp", "orders", data_dir=data)
        line = f"{order} (1 [WO-E2E])"  # the id to type, then Tryton's number
        assert any(
            row.startswith(line) and "completed" in row for row in orders.stdout.splitlines()
        ), orders.stdout + orders.stderr
    made = await outputs(rpc, order)
    assert made["storage"] >= 3, made  # the demo completes the order at 3 good parts
    notes = await ledger(rpc, order)
    assert notes and notes[-1].endswith("final"), notes
    await rpc.close()
