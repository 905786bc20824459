"""Random but well-formed gRPC requests to every service: answered with OK or a precise
status, never INTERNAL (an unhandled exception), never a hang; the services keep serving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.alerting.service import AlertingService
from plantbus.erp.service import ErpService
from plantbus.governance.service import GovernanceService
from plantbus.kit.runner import Runner
from plantbus.oee.service import OeeService
from plantbus.testing.harness import hosted, operator_channel
from plantbus.v1 import (
    alerting_pb2,
    alerting_pb2_grpc,
    erp_pb2,
    erp_pb2_grpc,
    governance_pb2,
    governance_pb2_grpc,
    oee_pb2,
    oee_pb2_grpc,
)

text = st.text(max_size=40)
Call = Callable[[grpc.aio.Channel], Awaitable[Any]]


def calls(s: str, n: int, x: float) -> list[Call]:
    return [
        lambda c: governance_pb2_grpc.GovernanceServiceStub(c).ApplyConfig(
            governance_pb2.ApplyConfigRequest(
                files=[governance_pb2.ConfigFile(name=s or "f.yaml", content=s)],
                dry_run=n % 2 == 0,
                expected_version=n,
            )
        ),
        lambda c: governance_pb2_grpc.GovernanceServiceStub(c).GetConfig(
            governance_pb2.GetConfigRequest(version=n)
        ),
        lambda c: governance_pb2_grpc.GovernanceServiceStub(c).RollbackConfig(
            governance_pb2.RollbackConfigRequest(version=n)
        ),
        lambda c: governance_pb2_grpc.GovernanceServiceStub(c).CheckPermission(
            governance_pb2.CheckPermissionRequest(user=s, tag_path=s, value=x)
        ),
        lambda c: oee_pb2_grpc.OeeServiceStub(c).GetOee(oee_pb2.GetOeeRequest(scope=s, shift=s)),
        lambda c: oee_pb2_grpc.OeeServiceStub(c).ClassifyDowntime(
            oee_pb2.ClassifyDowntimeRequest(id=s, reason=s)
        ),
        lambda c: oee_pb2_grpc.OeeServiceStub(c).GetLosses(oee_pb2.GetLossesRequest(scope=s)),
        lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Acknowledge(
            alerting_pb2.AcknowledgeRequest(id=s, comment=s)
        ),
        lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Shelve(
            alerting_pb2.ShelveRequest(id=s, duration_seconds=x, one_shot=n % 2 == 1)
        ),
        lambda c: alerting_pb2_grpc.AlertingServiceStub(c).Reset(
            alerting_pb2.ResetRequest(id=s, comment=s)
        ),
        lambda c: erp_pb2_grpc.ErpServiceStub(c).StartWorkOrder(
            erp_pb2.StartWorkOrderRequest(erp_id=s, machine=s)
        ),
        lambda c: erp_pb2_grpc.ErpServiceStub(c).Retry(erp_pb2.RetryRequest(idempotency_key=s)),
    ]


@pytest.fixture
async def hub(nats_url: str, tmp_path: Path) -> AsyncIterator[Runner]:
    services = [GovernanceService, OeeService, AlertingService, ErpService]
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path) as runner:
        yield runner


async def test_random_requests_get_precise_answers(hub: Runner) -> None:
    examples: list[tuple[str, int, float]] = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(s=text, n=st.integers(0, 2**32), x=st.floats(allow_nan=True))
    def collect(s: str, n: int, x: float) -> None:
        examples.append((s, n, x))

    collect()  # hypothesis chooses the inputs; the calls below run on this event loop
    failures: list[str] = []
    async with operator_channel(hub) as channel:
        for s, n, x in examples:
            for i, call in enumerate(calls(s, n, x)):
                try:
                    await asyncio.wait_for(call(channel), 10)
                except grpc.aio.AioRpcError as err:
                    if err.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                        failures.append(f"call {i} with {s!r}, {n}, {x}: {err.details()}")
    assert not failures, failures[:5]
