"""The hub's services on a real 3-node JetStream cluster with every stream and bucket R3:
SIGKILL the nats-server that leads the telemetry stream, then the one that leads the ERP
outbox, while m1 produces: another node takes over each stream, the services carry on
through the others without restarting, and no sample of m1 is lost, doubled or
reordered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import nats.errors
import pytest

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsconnect import connect
from plantbus.testing.cluster import NatsCluster, Node
from plantbus.testing.waiting import wait_until
from plantbus.v1.telemetry_pb2 import TagSample
from tests.faults.test_nats_kill import SERVICES, TAG, receive_times, stored_samples
from tests.hub import child, demo_plant, running_hub

LEADS = (streams.CYCLES.name, streams.ERP_OUTBOX.name)
ELECTION_S = 15.0  # RAFT elects a new leader in about 2 to 5 s
FLOWING_S = 30.0
"""Samples stored again within this after the kill: the device's spool replay waits up
to 10 s for the ack of a segment it sent while the stream had no leader, then resends."""


async def kill_leader(cluster: NatsCluster, bus: Bus, stream: str) -> tuple[Node, float, float]:
    """SIGKILL the leader of ``stream``; return it, the seconds until another node leads
    the stream, and until a telemetry sample is stored again."""
    leader = await cluster.leader(bus, stream)
    before = (await bus.js.stream_info(streams.CYCLES.name)).state.last_seq
    killed_at = time.monotonic()
    leader.server.kill()

    async def elected() -> bool:
        try:
            return await cluster.leader(bus, stream, timeout=0.5) != leader
        except Exception:  # noqa: BLE001 - no leader (or no answer) while the election runs
            return False

    async def stored() -> bool:
        with contextlib.suppress(TimeoutError, nats.errors.Error):
            info = await bus.nc.jetstream(timeout=0.5).stream_info(streams.CYCLES.name)
            return info.state.last_seq > before
        return False

    await wait_until(elected, timeout=ELECTION_S, interval=0.1, message=f"a {stream} leader")
    elected_s = time.monotonic() - killed_at
    await wait_until(stored, timeout=FLOWING_S, interval=0.1, message="telemetry stored again")
    return leader, elected_s, time.monotonic() - killed_at


async def break_the_leaders(cluster: NatsCluster) -> list[str]:
    """Kill each stream's leader in turn, bringing the node back (and the cluster
    healthy) before the next kill, so R3 keeps its quorum; the failover figures."""
    bus = await connect(cluster.settings())
    figures = []
    try:

        async def producing() -> bool:
            info = await bus.js.stream_info(streams.CYCLES.name)
            return info.state.messages > 50

        await wait_until(producing, timeout=60, message="m1 producing")
        for stream in LEADS:
            assert (await bus.js.stream_info(stream)).config.num_replicas == 3, stream
            node, elected_s, flowing_s = await kill_leader(cluster, bus, stream)
            await asyncio.sleep(3)  # m1 produces while the node is down
            node.server.restart()  # not in a worker thread: the server dies with its thread
            await asyncio.to_thread(cluster.wait_healthy)
            await wait_until(
                lambda: cluster.caught_up(bus, [s.name for s in streams.ALL_STREAMS]),
                timeout=30,
                message=f"{node.name} caught up",
            )
            figures.append(
                f"{stream} leader {node.name} killed: new leader after {elected_s:.1f} s, "
                f"telemetry stored again after {flowing_s:.1f} s"
            )
    finally:
        await bus.close()
    return figures


async def read_back(cluster: NatsCluster, until: float) -> list[tuple[str, TagSample]]:
    """m1's samples in the stream up to one received at ``until``; creating the reading
    consumer is retried while the meta leader that moved with the kills settles."""
    login: dict[str, Any] = {"servers": cluster.urls.split(",")}

    async def attempt() -> list[tuple[str, TagSample]] | None:
        with contextlib.suppress(TimeoutError, nats.errors.Error):
            return await stored_samples(login, until=until, timeout=30)
        return None

    return await wait_until(attempt, timeout=90, interval=1, message="m1's samples read back")


@pytest.mark.slow
@pytest.mark.timeout(240)  # about 90 s: the hub's start, two failovers, the read-back
def test_killing_the_telemetry_then_the_outbox_leader_loses_and_doubles_no_sample(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    data = tmp_path / "hub"
    args = ("--config", str(demo_plant(tmp_path)), "--nats-url", nats_cluster.urls)
    with running_hub(data, *args, env={"PLANTBUS_JS_REPLICAS": "3"}) as proc:
        pids = {name: child(proc, name).pid for name in SERVICES}
        started_wall = time.time()
        figures = asyncio.run(break_the_leaders(nats_cluster))
        back_wall = time.time()
        # the services rode it out on the other nodes: none restarted
        assert {name: child(proc, name).pid for name in SERVICES} == pids
        assert proc.poll() is None
        stored = asyncio.run(read_back(nats_cluster, until=back_wall + 2))
    times = receive_times(stored)
    during = sum(1 for t in times if started_wall < t < back_wall)
    print("; ".join(figures), f"; {len(times)} samples of {TAG}, {during} during the kills")
    assert during > 10, "m1 produced too little during the kills to tell"
