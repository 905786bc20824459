"""Two replicas of OEE, alerting and ERP as real processes on a real 3-node JetStream
cluster (every stream and bucket R3), one of them SIGKILLed or paused (SIGSTOP past its
lease, then SIGCONT): its scopes move to the other within a few seconds, OEE counts end
equal to the simulator's counters, every alarm transition is in the events stream once,
no notification is sent twice, and the paused replica publishes nothing once awake."""

from __future__ import annotations

import asyncio
import base64
import http.server
import itertools
import signal
import threading
import time
from pathlib import Path
from typing import ClassVar

import nats.errors
import pytest
from plantbus_b2mml.schedule import schedule_xml

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.cluster import NatsCluster
from plantbus.testing.replica_plant import LINES, MACHINES, Plant, plant
from plantbus.testing.replicas import replicas
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, oee_pb2

FAILOVER_S = 10.0
"""Bound on kill to first publish by the new owner here (the target, 5 s at p99, is the
bench's: this machine is shared)."""


@pytest.fixture
def nats_url(nats_cluster: NatsCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cluster's URLs; the replicas and the plant create every stream and bucket R3."""
    monkeypatch.setenv("PLANTBUS_JS_REPLICAS", str(len(nats_cluster.nodes)))
    return nats_cluster.urls


@pytest.fixture
def bus(cluster_bus: Bus) -> Bus:
    return cluster_bus


def _totals(p: Plant, since: float) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {m: [] for m in MACHINES}
    for _, _, msg in p.after(since, "plantbus.v1.oee."):
        if isinstance(msg, oee_pb2.OeeSnapshot) and msg.scope in out:
            out[msg.scope].append(msg.total_count)
    return out


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_oee_replicas_fail_over_and_count_exactly_what_the_machines_made(
    nats_url: str, bus: Bus, tmp_path: Path
) -> None:
    async with plant(nats_url, bus, tmp_path, "oee") as p:
        with replicas("oee", nats_url, tmp_path / "oee", p.pubkey) as group:
            for name in ("ra", "rb"):
                group.start(name)
            await group.ready(bus, LINES)
            await p.start_production()
            await asyncio.sleep(3)
            kv = await group.leases(bus)
            line = LINES[0]
            subject = f"plantbus.v1.oee.{line.replace('/', '.')}.m1"
            took = await group.fail_over(bus, p, line, subject)
            print(f"oee failover {took:.2f}s")
            assert took < FAILOVER_S
            # a replacement joins (as the supervisor or Kubernetes would start one): the
            # lines are shared again, handed over without a gap
            group.start("rc")
            await group.ready(bus, LINES)
            await asyncio.sleep(2)
            # pause the holder of a line past its lease, then let it go on
            paused_name = await group.holder(kv, line)
            paused = group.running[paused_name]
            paused.signal(signal.SIGSTOP)
            stopped = time.monotonic()

            async def moved() -> bool:
                return await group.holder(kv, line) not in ("", paused_name)

            await wait_until(moved, timeout=30, interval=0.1, message=f"{line} moved on")
            await asyncio.sleep(1)
            paused.signal(signal.SIGCONT)
            woke = time.monotonic()
            await wait_until(
                lambda: "lost" in paused.log_text(), timeout=20, message="it saw it lost the line"
            )
            await asyncio.sleep(2)
            counters = await p.stop_production()
            # the paused replica's figures were behind: had it published, a total would go back
            for machine, totals in _totals(p, woke - 0.5).items():
                assert totals == sorted(totals), (machine, totals)
            assert stopped < woke

            def final() -> dict[str, int]:
                last = {}
                for _, _, msg in p.after(0, "plantbus.v1.oee."):
                    if isinstance(msg, oee_pb2.OeeSnapshot) and msg.scope in MACHINES:
                        last[msg.scope] = msg.total_count
                return last

            expected = dict(zip(MACHINES, counters, strict=True))
            try:
                await wait_until(lambda: final() == expected, timeout=30)
            except TimeoutError:
                raise AssertionError(f"{final()} != {expected}; {_totals(p, 0)}") from None
            # every figure ever published only went up: no replica counted anything twice
            for machine, totals in _totals(p, 0).items():
                assert max(totals) == expected[machine], (machine, totals)


class Hooks(http.server.BaseHTTPRequestHandler):
    """Records every webhook notification's id."""

    ids: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Hooks.ids.append(self.headers["webhook-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def _stream_alarms(bus: Bus, idle_s: float = 2.0) -> dict[str, list[str]]:
    """Per alarm, the states of its events as the events stream holds them, in order
    (read until none has come for ``idle_s``)."""
    out: dict[str, list[str]] = {}
    sub = await bus.js.subscribe(
        "plantbus.v1.alarm.>", stream=streams.EVENTS.name, ordered_consumer=True
    )
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_s)
            except (TimeoutError, nats.errors.TimeoutError):
                return out
            event = alerting_pb2.AlarmEvent.FromString(msg.data)
            out.setdefault(event.id, []).append(event.state)
    finally:
        await sub.unsubscribe()


async def _fewest_transitions(bus: Bus) -> int:
    """The fewest events any of the machines' ``hot`` alarms has in the stream."""
    states = await _stream_alarms(bus, idle_s=0.5)
    return min((len(seq) for seq in states.values()), default=0) if len(states) == 2 else 0


async def _each_alarm_at_least(bus: Bus, n: int) -> None:
    async def enough() -> bool:
        return await _fewest_transitions(bus) >= n

    await wait_until(enough, timeout=60, interval=0.5, message=f"{n} transitions of each alarm")


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_alerting_replicas_fail_over_publishing_and_notifying_each_transition_once(
    nats_url: str, bus: Bus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FAILOVER_HOOK_SECRET", "whsec_" + base64.b64encode(b"k" * 32).decode())
    notifiers = (
        "notifiers:\n  - name: hook\n    plugin: webhook\n"
        f"    settings: {{url: 'http://127.0.0.1:{server.server_port}/',\n"
        "                secret: 'env:FAILOVER_HOOK_SECRET'}\n"
        "    min_priority: low\n    max_per_rule_per_hour: 1000\n"
    )
    await streams.ensure_stream(bus, streams.EVENTS)
    try:
        async with plant(nats_url, bus, tmp_path, "alerting", notifiers) as p:
            with replicas("alerting", nats_url, tmp_path / "al", p.pubkey) as group:
                for name in ("ra", "rb"):
                    group.start(name)
                await group.ready(bus, ("s/a",))

                toggling = p.toggle_temperature(1.5)
                await _each_alarm_at_least(bus, 2)
                took = await group.fail_over(bus, p, "s/a", "plantbus.v1.alarm.")
                print(f"alerting failover {took:.2f}s")
                assert took < FAILOVER_S
                since = await _fewest_transitions(bus)
                await _each_alarm_at_least(bus, max(4, since + 2))  # the new owner's
                toggling.cancel()
        states = await _stream_alarms(bus)
        assert states, "no alarm events in the stream"
        for alarm, seq in states.items():
            # each transition once: never the same state twice in a row
            assert all(a != b for a, b in itertools.pairwise(seq)), (alarm, seq)
            assert len(seq) >= 4, (alarm, seq)
        assert Hooks.ids, "no notification was sent"
        assert len(Hooks.ids) == len(set(Hooks.ids)), Hooks.ids
    finally:
        server.shutdown()


def _order_file(inbox: Path, n: int) -> None:
    order = WorkOrder(f"WO-{n}", f"WO-{n}", "P", "Part", 10.0)
    path = inbox / f"order-{n}.xml"
    path.with_suffix(".tmp").write_bytes(schedule_xml([order], f"s-{n}"))
    path.with_suffix(".tmp").rename(path)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_one_erp_replica_polls_and_the_other_takes_over_when_it_dies(
    nats_url: str, bus: Bus, tmp_path: Path
) -> None:
    inbox, outbox = tmp_path / "erp" / "inbox", tmp_path / "erp" / "outbox"
    inbox.mkdir(parents=True)
    erp = (
        "erp:\n  - name: plant-erp\n    connector: b2mml\n    site: s\n    line: l1\n"
        "    poll_interval_s: 0.5\n"
        f"    settings: {{inbox: '{inbox}', outbox: '{outbox}'}}\n"
    )
    _order_file(inbox, 1)
    async with plant(nats_url, bus, tmp_path, "erp", erp) as p:
        with replicas("erp", nats_url, tmp_path / "erp-r", p.pubkey) as group:
            for name in ("ra", "rb"):
                group.start(name)
            await group.ready(bus, ("plant-erp",))
            await wait_until(lambda: p.after(0, "plantbus.v1.erp.workorder."), timeout=20)
            took = await group.fail_over(
                bus,
                p,
                "plant-erp",
                "plantbus.v1.erp.workorder.",
                then=lambda: _order_file(inbox, 2),  # only a replica polling can publish it
            )
            print(f"erp failover {took:.2f}s")
            assert took < FAILOVER_S
            await asyncio.sleep(2)
    ids = [msg.erp_id for _, _, msg in p.after(0, "plantbus.v1.erp.workorder.")]
    # one poller at a time: each new order published once (WO-1 was not published again
    # by the replica that took over: it loaded the orders the first one kept)
    assert sorted(ids) == ["WO-1", "WO-2"], ids
