"""Governance and the dashboard with two replicas each on one NATS: governance's versions
are compare-and-set, so two replicas never both store one, and each dashboard replica
serves the same plant state (sessions are per replica: docs/deploy.md)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import grpc
import pytest

from plantbus.governance.service import GovernanceService
from plantbus.kit import subjects
from plantbus.kit.bus import Bus
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, governance_pb2, governance_pb2_grpc
from tests.integration.dashboard.client import Dashboard, serving
from tests.integration.governance.test_governance_service import DEVICES, PLANT, files


async def test_two_governance_replicas_store_each_version_once(
    nats_url: str, tmp_path: Path
) -> None:
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    (plant / "devices.yaml").write_text(DEVICES)
    options = {"governance": {"bootstrap_config": str(plant)}}
    async with contextlib.AsyncExitStack() as stack:
        stubs = []
        for name in ("ga", "gb"):
            runner = await stack.enter_async_context(
                hosted(
                    [GovernanceService],
                    nats_url=nats_url,
                    data_dir=tmp_path / name,
                    options=options,
                    instance=name,
                )
            )
            channel = await stack.enter_async_context(operator_channel(runner))
            stubs.append(governance_pb2_grpc.GovernanceServiceStub(channel))
        a, b = stubs
        # both bootstrapped from the same directory: one version 1, not two
        history = await a.ListVersions(governance_pb2.ListVersionsRequest())
        assert [v.version for v in history.versions] == [1]
        changed = files(DEVICES.replace("plc1", "plc2"))
        applied = await a.ApplyConfig(
            governance_pb2.ApplyConfigRequest(files=changed, expected_version=1)
        )
        assert applied.version == 2
        # the other replica sees it and refuses a change made against version 1
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await b.ApplyConfig(
                governance_pb2.ApplyConfigRequest(
                    files=files(DEVICES.replace("plc1", "plc3")), expected_version=1
                )
            )
        assert info.value.code() == grpc.StatusCode.ABORTED
        current = await b.GetConfig(governance_pb2.GetConfigRequest())
        assert current.meta.version == 2


async def test_two_dashboard_replicas_serve_the_same_alarms(
    nats_url: str, bus: Bus, tmp_path: Path
) -> None:
    async with (
        serving(nats_url, tmp_path / "da") as one,
        serving(nats_url, tmp_path / "db") as two,
    ):
        for dash in (one, two):
            await dash.sign_in()
        event = alerting_pb2.AlarmEvent(id="hot@s/a/l/m1", rule="hot", scope="s/a/l/m1")
        event.state = "unacknowledged"
        await bus.publish(subjects.alarm("s", "a", "l", "m1", "hot"), event)

        async def shows(dash: Dashboard) -> bool:
            async with dash.http.get(f"{dash.base}/api/state") as reply:
                return reply.status == 200 and "hot@s/a/l/m1" in str(await reply.json())

        for dash in (one, two):
            await wait_until(lambda d=dash: shows(d), message="the alarm on both replicas")
