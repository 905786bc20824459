"""ERP sync: confirmations per second through the JetStream outbox to a real trytond,
and the cost of one work-order poll with 1,000 open orders in Tryton.

The same outbox is also measured with the B2MML file connector, whose ERP side costs
almost nothing, to separate the hub's own cost from Tryton's.

Prints JSON: erp_confirmations_per_s and erp_poll_1000_orders_ms (Tryton), and
erp_b2mml_confirmations_per_s, erp_b2mml_poll_1000_orders_ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _hub import nats_server
from plantbus_b2mml.connector import B2mmlConnector, B2mmlSettings
from plantbus_b2mml.schedule import schedule_xml
from plantbus_tryton.connector import TrytonConnector, TrytonSettings
from plantbus_tryton.devserver import ADMIN_PASSWORD, DATABASE, TrytonServer, tryton_server
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import release_orders, seed_plant

from plantbus.erp.service import ErpService
from plantbus.kit import codec
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import erp_pb2

ORDERS = 1_000
TRYTON_ORDERS, PER_ORDER = 20, 10  # 200 confirmations, as 20 running orders report
B2MML_CONFIRMATIONS = 2_000


def plant(connector: str, settings: dict[str, Any]) -> dict[str, Any]:
    line = {"name": "l", "machines": [{"name": "m1"}]}
    return {
        "sites": [{"name": "s", "areas": [{"name": "a", "lines": [line]}]}],
        "erp": [
            {
                "name": "e",
                "connector": connector,
                "site": "s",
                "line": "l",
                "poll_interval_s": 60,
                "settings": settings,
            }
        ],
    }


async def through_outbox(
    connector: str,
    settings: dict[str, Any],
    confirmations: list[tuple[str, int]],
    delivered: Callable[[], Awaitable[bool]],
) -> float:
    """Enqueue (order, n) confirmations, wait until ``delivered``; confirmations/s."""
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url))
        await put_config(bus, plant(connector, settings))
        async with hosted([ErpService], nats_url=server.url, data_dir=tmp) as runner:
            erp = runner.services["erp"]
            assert isinstance(erp, ErpService)
            await wait_until(lambda: "e" in erp.connections and erp.connections["e"].last_poll > 0)
            now = codec.now()
            started = time.perf_counter()
            for order, n in confirmations:
                await erp.outbox.enqueue(
                    erp_pb2.Confirmation(
                        idempotency_key=f"{order}:{n}",
                        connection="e",
                        work_order_erp_id=order,
                        machine="s/a/l/m1",
                        good_quantity=1,
                        total_good=n,
                        sequence=n,
                        run_seconds=2.0 * n,
                        start=now,
                        end=now,
                    )
                )
            done: bool = await wait_until(delivered, timeout=240, interval=0.1)
            assert done
            elapsed = time.perf_counter() - started
        await bus.close()
    return len(confirmations) / elapsed


async def tryton_figures(server: TrytonServer) -> dict[str, float]:
    rpc = TrytonRpc(server.url, DATABASE, "admin", ADMIN_PASSWORD)
    sample = await seed_plant(rpc)
    running = await release_orders(rpc, sample, [f"R-{i}" for i in range(TRYTON_ORDERS)], 1e6)
    settings = {"url": server.url, "database": DATABASE, "password": ADMIN_PASSWORD}
    password = server.db_dir / "admin-password"  # the plant config refers to it, by file
    password.write_text(ADMIN_PASSWORD)
    print(f"[erp] {TRYTON_ORDERS * PER_ORDER} confirmations to Tryton ...", file=sys.stderr)

    async def all_booked() -> bool:
        notes = await rpc.call("ir.note", "search_count", [])
        return bool(notes >= TRYTON_ORDERS * PER_ORDER)

    rate = await through_outbox(
        "tryton",
        {**settings, "password": f"file:{password}"},
        [(str(order), n) for n in range(1, PER_ORDER + 1) for order in running],
        all_booked,
    )
    print(f"[erp] releasing {ORDERS} orders in Tryton ...", file=sys.stderr)
    await release_orders(rpc, sample, [f"P-{i}" for i in range(ORDERS - TRYTON_ORDERS)], 10)
    connector = TrytonConnector(TrytonSettings.model_validate(settings))
    await connector.open()
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        found, _ = await connector.list_work_orders(None)
        timings.append(time.perf_counter() - started)
        assert len(found) == ORDERS, len(found)
    await connector.close()
    await rpc.close()
    return {
        "erp_confirmations_per_s": round(rate, 1),
        "erp_poll_1000_orders_ms": round(sorted(timings)[2] * 1000, 1),
    }


async def b2mml_figures(tmp: Path) -> dict[str, float]:
    inbox, outbox = tmp / "inbox", tmp / "outbox"
    inbox.mkdir()
    orders = [WorkOrder(f"WO-{i}", f"WO-{i}", "P", "Part", 10) for i in range(ORDERS)]
    (inbox / "big.xml").write_bytes(schedule_xml(orders))

    async def all_written() -> bool:
        return len(list(outbox.glob("WO-0_*.xml"))) >= B2MML_CONFIRMATIONS

    rate = await through_outbox(
        "b2mml",
        {"inbox": str(inbox), "outbox": str(outbox)},
        [("WO-0", n) for n in range(1, B2MML_CONFIRMATIONS + 1)],
        all_written,
    )
    connector = B2mmlConnector(B2mmlSettings(inbox=inbox, outbox=tmp / "out"))
    await connector.open()
    started = time.perf_counter()
    found, _ = await connector.list_work_orders(None)
    assert len(found) == ORDERS
    return {
        "erp_b2mml_confirmations_per_s": round(rate),
        "erp_b2mml_poll_1000_orders_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with tryton_server(Path(tmp)) as server:
            figures = asyncio.run(tryton_figures(server))
        figures |= asyncio.run(b2mml_figures(Path(tmp)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
