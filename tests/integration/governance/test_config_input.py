"""What governance does with the config text it receives over gRPC: it never expands
``${VAR}`` (a secret in its environment cannot be read back through a diff), the CLI expands
on the caller's side, and a request over the message limit is refused naming the setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.cli.main import cli
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus
from plantbus.kit.grpc_client import channel
from plantbus.kit.grpc_settings import MAX_MESSAGE_BYTES
from plantbus.testing.harness import hosted, operator_tls
from plantbus.v1 import governance_pb2, governance_pb2_grpc, service_pb2

TOKEN = "s3cret-dashboard-token-9f2c"
PLANT = """\
sites:
  - name: demo
    areas:
      - name: machining
        lines:
          - name: line1
            machines: [{name: m1}]
"""
DEVICES = """\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://{host}
    machine: demo/machining/line1/m1
    tags: [{{name: temp, address: t, data_type: float32}}]
"""
Stub = governance_pb2_grpc.GovernanceServiceStub


@pytest.fixture
async def governance(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Stub]]:
    monkeypatch.setenv("PLANTBUS_DASHBOARD_TOKEN", TOKEN)  # in the server's environment
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    (plant / "devices.yaml").write_text(DEVICES.format(host="${PLC_HOST:-plc1}"))
    options = {"governance": {"bootstrap_config": str(plant)}}
    async with (
        hosted([GovernanceService], nats_url=nats_url, data_dir=tmp_path, options=options) as r,
        channel(
            r.grpc_address, operator_tls(tmp_path), max_message_bytes=2 * MAX_MESSAGE_BYTES
        ) as chan,
    ):
        yield str(tmp_path), Stub(chan)  # the hub's data dir: the CLI's credential is there


def files(host: str) -> list[governance_pb2.ConfigFile]:
    return [
        governance_pb2.ConfigFile(name="plant.yaml", content=PLANT),
        governance_pb2.ConfigFile(name="devices.yaml", content=DEVICES.format(host=host)),
    ]


async def test_variables_received_over_grpc_are_refused_not_expanded(
    bus: Bus, governance: tuple[str, Stub]
) -> None:
    _, stub = governance
    audits: asyncio.Queue[service_pb2.AuditRecord] = asyncio.Queue()

    async def on_audit(subject, msg, raw) -> None:  # type: ignore[no-untyped-def]
        await audits.put(msg)

    await bus.subscribe("plantbus.v1.audit.governance", on_audit)
    calls = [
        lambda host: stub.DiffConfig(governance_pb2.DiffConfigRequest(files=files(host))),
        lambda host: stub.ApplyConfig(
            governance_pb2.ApplyConfigRequest(files=files(host), dry_run=True)
        ),
        lambda host: stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=files(host))),
    ]
    for host in ("${PLANTBUS_DASHBOARD_TOKEN}", "${PLANTBUS_DASHBOARD_TOKEN:-none}"):
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(host)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            details = info.value.details() or ""
            assert "devices.yaml:4: devices[0].endpoint:" in details, details
            assert "expand variables on the client: plantbus config apply does this" in details
            assert TOKEN not in details
    for _ in range(2):  # the real applies, not the dry runs
        refused = await asyncio.wait_for(audits.get(), 5)
        assert (refused.action, refused.outcome) == (
            "config.apply",
            service_pb2.AUDIT_OUTCOME_DENIED,
        )
        assert "unexpanded" in refused.detail
    versions = await stub.ListVersions(governance_pb2.ListVersionsRequest())
    assert versions.running_version == 1
    shown = await stub.GetConfig(governance_pb2.GetConfigRequest())
    assert TOKEN not in shown.yaml and "memory://plc1" in shown.yaml  # bootstrap: expanded


async def cli_run(governance: tuple[str, Stub], nats_url: str, *args: str, **env: str) -> Result:
    """``plantbus config ...`` in a thread (it runs its own event loop), as the local
    operator of the hub whose data dir ``governance`` names."""
    hub = ["--nats-url", nats_url, "--data-dir", governance[0]]
    return await asyncio.to_thread(
        CliRunner().invoke, cli, ["config", *args[:1], *hub, *args[1:]], env=env
    )


async def test_the_cli_expands_from_the_callers_environment(
    governance: tuple[str, Stub], nats_url: str, tmp_path: Path
) -> None:
    plant = tmp_path / "changed"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    (plant / "devices.yaml").write_text(DEVICES.format(host="${CALLER_HOST}"))
    diffed = await cli_run(governance, nats_url, "diff", str(plant), CALLER_HOST="caller: #x")
    assert diffed.exit_code == 0, diffed.output
    assert "+  endpoint: 'memory://caller: #x'" in diffed.output
    unset = await cli_run(governance, nats_url, "diff", str(plant))
    assert unset.exit_code == 2, "invalid input"
    assert "devices.yaml:4: devices[0].endpoint: environment variable CALLER_HOST" in unset.output
    too_big = await cli_run(
        governance,
        nats_url,
        "apply",
        str(plant),
        CALLER_HOST="h",
        PLANTBUS_GRPC_MAX_MESSAGE_BYTES="100",
    )
    assert too_big.exit_code == 2, "invalid input"
    assert "more than the gRPC message limit of 100" in too_big.output
    assert "PLANTBUS_GRPC_MAX_MESSAGE_BYTES" in too_big.output


async def test_a_request_over_the_message_limit_is_refused_naming_the_setting(
    governance: tuple[str, Stub],
) -> None:
    _, stub = governance
    # comments cost the reader nearly nothing: a 100,000-tag plant's size is accepted
    padding = "# " + "x" * 97 + "\n"
    big = files("plc2")
    big[1].content += padding * (6 * 2**20 // len(padding))
    reply = await stub.DiffConfig(governance_pb2.DiffConfigRequest(files=big))
    assert not reply.issues and "plc2" in reply.diff  # over gRPC's default of 4 MiB
    big[1].content += padding * (MAX_MESSAGE_BYTES // len(padding))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ApplyConfig(governance_pb2.ApplyConfigRequest(files=big))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"more than this server's limit of {MAX_MESSAGE_BYTES:,}" in (info.value.details() or "")
    assert "max_message_bytes, PLANTBUS_GRPC_MAX_MESSAGE_BYTES" in (info.value.details() or "")
    versions = await stub.ListVersions(governance_pb2.ListVersionsRequest())
    assert versions.running_version == 1
