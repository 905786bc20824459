"""ERP sync: confirmations per second through the JetStream outbox to a connector, and the
cost of one work-order poll with 1,000 open orders.

The connector is the B2MML file exchange (the Tryton connector is not built yet), so the
figures measure the outbox and service, with a fast ERP on the other side.

Prints JSON: erp_confirmations_per_s, erp_poll_1000_orders_ms (labelled b2mml).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

from _hub import nats_server
from plantbus_b2mml.connector import B2mmlConnector, B2mmlSettings
from plantbus_b2mml.schedule import schedule_xml

from plantbus.erp.convert import timestamp
from plantbus.erp.service import ErpService
from plantbus.sdk.bus import NatsSettings, connect
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import erp_pb2

CONFIRMATIONS = 2_000
ORDERS = 1_000


async def confirmations_per_s() -> float:
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url))
        outbox = tmp / "outbox"
        (tmp / "inbox").mkdir()
        (tmp / "inbox" / "s.xml").write_bytes(
            schedule_xml([WorkOrder("WO-1", "WO-1", "P", "Part", 1e9)])
        )
        await put_config(
            bus,
            {
                "sites": [
                    {
                        "name": "s",
                        "areas": [
                            {"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}
                        ],
                    }
                ],
                "erp": [
                    {
                        "name": "e",
                        "connector": "b2mml",
                        "site": "s",
                        "line": "l",
                        "poll_interval_s": 0.2,
                        "settings": {"inbox": str(tmp / "inbox"), "outbox": str(outbox)},
                    }
                ],
            },
        )
        async with hosted([ErpService], nats_url=server.url, data_dir=tmp) as runner:
            erp = runner.services["erp"]
            assert isinstance(erp, ErpService)
            await wait_until(lambda: "WO-1" in erp.orders)
            now = timestamp(datetime.now(UTC))
            started = time.perf_counter()
            for i in range(CONFIRMATIONS):
                await erp.outbox.enqueue(
                    erp_pb2.Confirmation(
                        idempotency_key=f"WO-1:{i}",
                        connection="e",
                        work_order_erp_id="WO-1",
                        machine="s/a/l/m1",
                        good_quantity=1,
                        start=now,
                        end=now,
                    )
                )
            await wait_until(
                lambda: len(list(outbox.glob("WO-1_*.xml"))) >= CONFIRMATIONS,
                timeout=120,
                interval=0.1,
            )
            elapsed = time.perf_counter() - started
        await bus.close()
    return CONFIRMATIONS / elapsed


async def poll_ms() -> float:
    with nats_server() as (_, tmp):
        inbox = tmp / "inbox"
        inbox.mkdir()
        orders = [WorkOrder(f"WO-{i}", f"WO-{i}", "P", "Part", 10) for i in range(ORDERS)]
        (inbox / "big.xml").write_bytes(schedule_xml(orders))
        connector = B2mmlConnector(B2mmlSettings(inbox=inbox, outbox=tmp / "out"))
        await connector.open()
        started = time.perf_counter()
        found, _ = await connector.list_work_orders(None)
        assert len(found) == ORDERS
        return (time.perf_counter() - started) * 1000


def main() -> None:
    print(
        json.dumps(
            {
                "erp_confirmations_per_s": round(asyncio.run(confirmations_per_s())),
                "erp_poll_1000_orders_ms": round(asyncio.run(poll_ms()), 1),
                "erp_connector": "b2mml",
            }
        )
    )


if __name__ == "__main__":
    main()
