"""Failover of replicated services, and what their leases cost.

For OEE, alerting and ERP: two replicas as real processes (``plantbus run``) on one
nats-server, the holder of a scope SIGKILLed again and again (a new replica started after
each kill, as Kubernetes would); failover is the time from the kill to the first message
the new owner publishes for that scope (a snapshot of the line, an alarm transition, a work
order it polled). Leases: the round trip of a renewal (a KV update with compare-and-set)
and the KV writes a scope costs per second.

Prints JSON: oee_failover_p50_s, oee_failover_p99_s, alerting_failover_p50_s,
alerting_failover_p99_s, erp_failover_p50_s, erp_failover_p99_s, lease_renew_p50_ms,
lease_renew_p99_ms, lease_writes_per_scope_per_s.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _hub import nats_server, percentile
from plantbus_b2mml.schedule import schedule_xml

from plantbus.kit import streams
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.lease import DEFAULT_TTL_S, Leases
from plantbus.kit.natsconnect import connect
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.replica_plant import LINES, Plant, plant
from plantbus.testing.replicas import replicas

KILLS = 8


def _order_file(inbox: Path, n: int) -> None:
    order = WorkOrder(f"WO-{n}", f"WO-{n}", "P", "Part", 10.0)
    path = inbox / f"order-{n}.xml"
    path.with_suffix(".tmp").write_bytes(schedule_xml([order], f"s-{n}"))
    path.with_suffix(".tmp").rename(path)


async def _kills(
    service: str,
    scope: str,
    subject: str,
    url: str,
    bus: Bus,
    p: Plant,
    root: Path,
    trigger: Callable[[int], None] = lambda n: None,
) -> list[float]:
    times = []
    with replicas(service, url, root, p.pubkey) as group:
        for name in ("r0", "r1"):
            group.start(name)
        await group.ready(bus, (scope,), timeout=120)
        for n in range(KILLS):
            await asyncio.sleep(1.0)
            took = await group.fail_over(bus, p, scope, subject, then=functools.partial(trigger, n))
            times.append(took)
            print(f"[failover] {service} {n + 1}/{KILLS}: {took:.2f}s", file=sys.stderr)
            group.start(f"r{n + 2}")
            await group.ready(bus, (scope,), timeout=120)
    return times


async def _lease_cost(bus: Bus, n: int = 500) -> list[float]:
    kv = await streams.open_bucket(bus, streams.LEASES)
    leases = Leases(kv, "bench-1")
    assert await leases.acquire("bench.scope")
    out = []
    for _ in range(n):
        started = time.perf_counter()
        assert await leases.renew("bench.scope")
        out.append((time.perf_counter() - started) * 1000)
    await leases.release("bench.scope")
    return out


async def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url, name="bench-failover"))
        try:
            renew = await _lease_cost(bus)
            figures["lease_renew_p50_ms"] = round(percentile(renew, 50), 3)
            figures["lease_renew_p99_ms"] = round(percentile(renew, 99), 3)
            figures["lease_writes_per_scope_per_s"] = round(4 / DEFAULT_TTL_S, 3)
            inbox = tmp / "erp" / "inbox"
            inbox.mkdir(parents=True)
            erp = (
                "erp:\n  - name: plant-erp\n    connector: b2mml\n    site: s\n    line: l1\n"
                "    poll_interval_s: 0.5\n"
                f"    settings: {{inbox: '{inbox}', outbox: '{tmp / 'erp' / 'outbox'}'}}\n"
            )
            async with plant(server.url, bus, tmp, "bench", erp) as p:
                await p.start_production()
                toggling = p.toggle_temperature(0.5)
                line = LINES[0]
                runs = {
                    "oee": (line, f"plantbus.v1.oee.{line.replace('/', '.')}.m1", None),
                    "alerting": ("s/a", "plantbus.v1.alarm.", None),
                    "erp": ("plant-erp", "plantbus.v1.erp.workorder.", inbox),
                }
                for service, (scope, subject, orders) in runs.items():

                    def trigger(n: int, orders: Path | None = orders) -> None:
                        if orders is not None:
                            _order_file(orders, n)

                    times = await _kills(
                        service, scope, subject, server.url, bus, p, tmp / service, trigger
                    )
                    figures[f"{service}_failover_p50_s"] = round(percentile(times, 50), 3)
                    figures[f"{service}_failover_p99_s"] = round(percentile(times, 99), 3)
                toggling.cancel()
                await p.stop_production()
        finally:
            await bus.close()
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
