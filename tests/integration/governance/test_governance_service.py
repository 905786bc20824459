"""Governance over gRPC with a real nats-server: apply, diff, history, rollback, races,
permission checks with audit, and a live change reaching a following service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import grpc
import pytest

from plantbus.config import PlantConfig
from plantbus.governance import memory
from plantbus.governance.service import GovernanceService
from plantbus.governance.store import ConfigStore
from plantbus.kit.bus import Bus
from plantbus.kit.runner import Runner
from plantbus.kit.service import Service
from plantbus.sdk.errors import ConflictError
from plantbus.testing.config import TEST_SIGNER
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import governance_pb2, governance_pb2_grpc, service_pb2

PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines: [{name: m1}, {name: m2}]
roles: [{name: engineer, permissions: [config.apply, tag.write]}]
users: [{name: eve, roles: [engineer]}, {name: mallory}]
write_policies:
  - {name: speed, roles: [engineer], tags: [demo/machining/line1/m1/speed], min: 0, max: 100}
"""
DEVICES = """\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://plc1
    machine: demo/machining/line1/m1
    tags:
      - {name: temp, address: t, data_type: float32}
      - {name: speed, address: s, data_type: uint16, access: read_write}
"""


def files(devices: str = DEVICES) -> list[governance_pb2.ConfigFile]:
    return [
        governance_pb2.ConfigFile(name="plant.yaml", content=PLANT),
        governance_pb2.ConfigFile(name="devices.yaml", content=devices),
    ]


class Follower(Service):
    """Records the device names of every version it is given."""

    name: ClassVar[str] = "follower"
    seen: ClassVar[list[tuple[int, list[str]]]] = []

    async def start(self) -> None:
        return None

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        self.seen.append((version, [d.name for d in config.devices]))
        self.config_version = version

    async def stop(self) -> None:
        return None


@pytest.fixture
async def governance(
    nats_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runner, governance_pb2_grpc.GovernanceServiceStub]]:
    (tmp_path / "plant").mkdir()
    (tmp_path / "plant" / "plant.yaml").write_text(PLANT)
    (tmp_path / "plant" / "devices.yaml").write_text(DEVICES)
    options = {"governance": {"bootstrap_config": str(tmp_path / "plant")}}
    Follower.seen = []
    async with (
        hosted(
            [GovernanceService, Follower], nats_url=nats_url, data_dir=tmp_path, options=options
        ) as runner,
        operator_channel(runner) as channel,
    ):
        yield runner, governance_pb2_grpc.GovernanceServiceStub(channel)


AS_EVE = (("x-plantbus-user", "eve"),)


async def test_bootstrap_apply_diff_history_rollback(governance) -> None:  # type: ignore[no-untyped-def]
    _runner, stub = governance
    versions = await stub.ListVersions(governance_pb2.ListVersionsRequest())
    assert versions.running_version == 1
    assert versions.versions[0].author == "bootstrap"

    changed = DEVICES.replace("name: plc1", "name: plc2")
    diff = await stub.DiffConfig(governance_pb2.DiffConfigRequest(files=files(changed)))
    assert "-- name: plc1" in diff.diff and "+- name: plc2" in diff.diff

    dry = await stub.ApplyConfig(
        governance_pb2.ApplyConfigRequest(files=files(changed), dry_run=True)
    )
    assert (dry.version, dry.previous_version) == (0, 1)

    applied = await stub.ApplyConfig(
        governance_pb2.ApplyConfigRequest(files=files(changed), message="rename plc"),
        metadata=AS_EVE,
    )
    assert applied.version == 2
    same = await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=files(changed)))
    assert same.version == 0 and same.previous_version == 2  # no change, no new version

    history = await stub.ListVersions(governance_pb2.ListVersionsRequest())
    assert [(v.version, v.author, v.message) for v in history.versions][:1] == [
        (2, "eve", "rename plc")
    ]
    rolled = await stub.RollbackConfig(governance_pb2.RollbackConfigRequest(version=1))
    assert rolled.version == 3 and "+- name: plc1" in rolled.diff
    shown = await stub.GetConfig(governance_pb2.GetConfigRequest(version=0))
    assert shown.meta.version == 3 and "name: plc1" in shown.yaml
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetConfig(governance_pb2.GetConfigRequest(version=9))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_broken_config_is_refused_with_every_error(governance) -> None:  # type: ignore[no-untyped-def]
    _runner, stub = governance
    broken = DEVICES.replace("data_type: float32", "data_type: float33").replace(
        "endpoint:", "endpoit:"
    )
    reply = await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=files(broken)))
    found = {(i.file, i.line, i.path) for i in reply.issues}
    assert ("devices.yaml", 4, "devices[0].endpoit") in found
    assert ("devices.yaml", 7, "devices[0].tags[0].data_type") in found
    assert reply.version == 0
    running = await stub.ListVersions(governance_pb2.ListVersionsRequest())
    assert running.running_version == 1  # untouched


async def test_racing_apply_is_refused(bus: Bus, governance) -> None:  # type: ignore[no-untyped-def]
    _runner, _ = governance
    store = await ConfigStore.open(bus, TEST_SIGNER, TEST_SIGNER.verifier())  # another replica
    current, revision = await store.current()
    assert current is not None
    await store.store(current.config, "alice", "first", revision, current.version + 1)
    with pytest.raises(ConflictError, match="re-apply"):
        await store.store(current.config, "bob", "second", revision, current.version + 1)
    _, stub = governance
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ApplyConfig(
            governance_pb2.ApplyConfigRequest(
                files=files(DEVICES.replace("plc1", "plc3")), expected_version=1
            )
        )
    assert info.value.code() == grpc.StatusCode.ABORTED


async def test_write_permission_is_denied_by_default_and_audited(
    bus: Bus,
    governance,  # type: ignore[no-untyped-def]
) -> None:
    _, stub = governance
    audits: asyncio.Queue[service_pb2.AuditRecord] = asyncio.Queue()

    async def on_audit(subject, msg, raw) -> None:  # type: ignore[no-untyped-def]
        await audits.put(msg)

    await bus.subscribe("plantbus.v1.audit.governance", on_audit)

    async def check(
        user: str, tag: str, value: float | None
    ) -> governance_pb2.CheckPermissionResponse:
        """As ``user``: the operator acts for them (the request's user field is ignored)."""
        return await stub.CheckPermission(
            governance_pb2.CheckPermissionRequest(tag_path=tag, value=value),
            metadata=(("x-plantbus-user", user),),
        )

    ok = await check("eve", "demo/machining/line1/m1/speed", 50)
    assert ok.allowed and ok.policy == "speed"
    assert not (await check("mallory", "demo/machining/line1/m1/speed", 50)).allowed
    assert "outside the limits" in (await check("eve", "demo/machining/line1/m1/speed", 500)).reason
    assert "read-only" in (await check("eve", "demo/machining/line1/m1/temp", None)).reason
    claimed = await stub.CheckPermission(
        governance_pb2.CheckPermissionRequest(
            user="eve", tag_path="demo/machining/line1/m1/speed", value=50
        )
    )
    assert not claimed.allowed and "the local operator writes" in claimed.reason
    outcomes = [(await asyncio.wait_for(audits.get(), 5)) for _ in range(5)]
    assert [(a.actor, a.outcome) for a in outcomes] == [
        ("eve", service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("mallory", service_pb2.AUDIT_OUTCOME_DENIED),
        ("eve", service_pb2.AUDIT_OUTCOME_DENIED),
        ("eve", service_pb2.AUDIT_OUTCOME_DENIED),
        ("local-operator", service_pb2.AUDIT_OUTCOME_DENIED),
    ]


async def test_live_change_reaches_a_running_service(governance) -> None:  # type: ignore[no-untyped-def]
    _, stub = governance
    await wait_until(lambda: Follower.seen == [(1, ["plc1"])], message="version 1 followed")
    await stub.ApplyConfig(
        governance_pb2.ApplyConfigRequest(files=files(DEVICES.replace("plc1", "plc9")))
    )
    await wait_until(lambda: Follower.seen[-1] == (2, ["plc9"]), message="version 2 followed")


async def test_reading_a_whole_config_hands_its_memory_back_after_the_call(  # type: ignore[no-untyped-def]
    governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stub = governance
    released: list[bool] = []
    monkeypatch.setattr(memory, "release", lambda: released.append(True))
    monkeypatch.setattr(memory, "RELEASE_AFTER_S", 0.01)
    changed = files(DEVICES.replace("plc1", "plc9"))  # each: at its end and after the call
    await stub.DiffConfig(governance_pb2.DiffConfigRequest(files=changed))
    await wait_until(lambda: len(released) == 2, message="released after the diff")
    await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=changed))
    await wait_until(lambda: len(released) == 4, message="released after the apply")
    await stub.RollbackConfig(governance_pb2.RollbackConfigRequest(version=1))
    await wait_until(lambda: len(released) == 6, message="released after the rollback")
    await stub.GetConfig(governance_pb2.GetConfigRequest())
    await wait_until(lambda: len(released) == 7, message="released after showing it")


async def test_an_apply_collects_before_it_stores_and_a_dry_run_does_not(  # type: ignore[no-untyped-def]
    governance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stub = governance
    collected: list[bool] = []
    monkeypatch.setattr(memory, "collect", lambda: collected.append(True))
    changed = files(DEVICES.replace("plc1", "plc9"))
    await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=changed, dry_run=True))
    assert collected == []
    reply = await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=changed))
    assert reply.version == 2 and collected == [True]
