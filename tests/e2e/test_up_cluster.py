"""`plantbus up --cluster 3`: the hub on a 3-node JetStream cluster on one machine, every
stream and bucket with three replicas, `plantbus status` showing the cluster, and a node
killed (the telemetry stream's leader) started again and caught up."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import psutil
import pytest

from plantbus.cli.hub import Hub
from plantbus.kit import streams
from plantbus.kit.registry import SERVICES
from plantbus.testing.waiting import wait_until
from tests.e2e.test_up import UP_TIMEOUT_S, plantbus, running_up, wait_for_file

NODES = ["plantbus-1", "plantbus-2", "plantbus-3"]
READABLE = [streams.CYCLES.name, streams.AUDIT.name, streams.OEE_FINAL.name] + [
    bucket.stream for bucket in streams.ALL_BUCKETS
]
"""The streams the operator may read the info of: the plant's data and every bucket."""


async def _replicas(data_dir: Path) -> dict[str, int]:
    bus = await Hub.locate(data_dir, None).connect()
    try:
        return {
            name: (await bus.js.stream_info(name)).config.num_replicas or 1 for name in READABLE
        }
    finally:
        await bus.close()


def _all_current(data_dir: Path, killed: int) -> bool:
    """Every node current again, the killed one replaced by a new process."""
    status = plantbus("status", "--json", data_dir=data_dir)
    cluster = json.loads(status.stdout)["nats_cluster"] if status.returncode == 0 else {}
    nodes = cluster.get("nodes", [])
    return not psutil.pid_exists(killed) and len(nodes) == 3 and all(n["current"] for n in nodes)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_up_cluster_3_runs_the_hub_on_three_replicated_nodes(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    with running_up(data_dir, "--cluster", "3") as proc:
        runtime = wait_for_file(data_dir / "runtime.json", proc, UP_TIMEOUT_S * 2)
        assert len(str(runtime["nats_url"]).split(",")) == 3, runtime["nats_url"]
        nats = [p for p in psutil.Process(proc.pid).children() if "nats-server" in p.name()]
        assert len(nats) == 3, [p.cmdline() for p in nats]

        status = plantbus("status", "--json", data_dir=data_dir)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        cluster = report["nats_cluster"]
        assert cluster["name"] == "plantbus"
        assert cluster["replicas"] == 3
        assert sorted(node["name"] for node in cluster["nodes"]) == NODES
        assert [node["leader"] for node in cluster["nodes"]] == [True, False, False]
        health = {s["service"]: s["health"] for s in report["services"]}
        assert health == dict.fromkeys(SERVICES, "serving")

        text = plantbus("status", data_dir=data_dir)
        assert "NATS cluster plantbus: " in text.stdout, text.stdout
        assert f"{streams.CYCLES.name} R3" in text.stdout

        assert asyncio.run(_replicas(data_dir)) == dict.fromkeys(READABLE, 3)

        # a node killed is started again by plantbus up and catches up with the others
        leader = next(node["name"] for node in cluster["nodes"] if node["leader"])
        victim = next(p for p in nats if leader in p.cmdline())
        victim.kill()
        assert asyncio.run(
            wait_until(lambda: _all_current(data_dir, victim.pid), timeout=60, message="node back")
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    assert not (data_dir / "runtime.json").exists()
