"""Attacks from outside on a running `plantbus up` (default, secure): a forged user header
without credentials, a certificate from another CA, a replayed revoked token, an expired
token; each refused. The local operator's CLI path still works unchanged: status, alarms
list and ack, config apply, the allowed write (and a bare write is refused). And
`plantbus up --insecure` warns and is refused off loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from plantbus.kit import pki
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, device_pb2, device_pb2_grpc, telemetry_pb2
from tests.hub import demo_plant, running_hub

pytestmark = pytest.mark.slow

WRITE = device_pb2.WriteTagRequest(
    device="m1-plc",
    tag="speed_setpoint",
    value=telemetry_pb2.TagValue(int_value=4500),
    reason="attack",
)


class Up:
    """A running hub and its CLI."""

    def __init__(self, data: Path, plant: Path) -> None:
        self.data = data
        self.plant = plant
        self.runtime: dict[str, Any] = json.loads((data / "runtime.json").read_text())

    async def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`plantbus ARGS --data-dir DATA` with extra environment ``env`` (in a thread)."""
        sim = self.runtime["sim"]
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "plantbus.cli", *args, "--data-dir", str(self.data)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={
                **os.environ,
                "PLANTBUS_SIM_MODBUS_PORT": sim["modbus"].rsplit(":", 1)[1],
                "PLANTBUS_DATA_DIR": str(self.data),
                **env,
            },
        )

    def address(self, service: str, port: str = "grpc") -> str:
        return str(self.runtime["services"][service][port])

    @property
    def ca(self) -> Path:
        return pki.Pki(self.data / "pki").ca_cert


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    tmp = tmp_path_factory.mktemp("up")
    plant = demo_plant(tmp)
    with running_hub(tmp / "hub", "--config", str(plant)):
        yield Up(tmp / "hub", plant)


async def refused(address: str, tls: ClientTls | None, **metadata: str) -> grpc.aio.AioRpcError:
    async with channel(address, tls) as chan:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await device_pb2_grpc.DeviceServiceStub(chan).WriteTag(
                WRITE, metadata=tuple(metadata.items()), timeout=10
            )
    return info.value


async def test_a_forged_user_header_without_credentials_is_refused(hub: Up) -> None:
    engineer = {"x-plantbus-user": "engineer"}
    token_port = await refused(hub.address("device", "grpc_token"), ClientTls(hub.ca), **engineer)
    assert token_port.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no credentials" in (token_port.details() or "")
    for tls in (ClientTls(hub.ca), None):  # TLS without a certificate; plaintext
        main_port = await refused(hub.address("device"), tls, **engineer)
        assert main_port.code() == grpc.StatusCode.UNAVAILABLE  # no handshake at all


async def test_a_certificate_from_another_ca_is_refused(hub: Up, tmp_path: Path) -> None:
    other, _ = pki.ensure(tmp_path / "other", ["dashboard"])
    for files in (other.operator, other.service("dashboard")):
        forged = ClientTls(hub.ca, files.cert, files.key)
        err = await refused(hub.address("device"), forged, **{"x-plantbus-user": "engineer"})
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        # the token port does not even ask for it: the caller stays anonymous
        err = await refused(hub.address("device", "grpc_token"), forged)
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_revoked_and_expired_tokens_are_refused(hub: Up) -> None:
    created = await hub.cli("users", "token", "create", "engineer", "--expires", "1d")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"pbt_[0-9a-f]{16}_\S+", token), created.stdout
    ident = token.split("_")[1]
    as_engineer = await hub.cli("alarms", "list", PLANTBUS_TOKEN=token)
    assert as_engineer.returncode == 0, as_engineer.stderr
    listed = await hub.cli("users", "token", "list")
    assert f"{ident}  engineer" in listed.stdout and token not in listed.stdout
    revoked = await hub.cli("users", "token", "revoke", ident)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    replayed = await hub.cli("alarms", "list", PLANTBUS_TOKEN=token)
    assert replayed.returncode == 4, "refused"
    assert f"token {ident} was revoked (UNAUTHENTICATED)" in replayed.stderr

    created = await hub.cli("users", "token", "create", "engineer", "--expires", "1s")
    short = created.stdout.strip()

    async def expired() -> subprocess.CompletedProcess[str] | None:
        result = await hub.cli("alarms", "list", PLANTBUS_TOKEN=short)
        return result if result.returncode else None

    refusal = await wait_until(expired, timeout=20, message="the short token expired")
    assert refusal is not None and "expired at" in refusal.stderr
    unknown = await hub.cli("alarms", "list", PLANTBUS_TOKEN="pbt_0123456789abcdef_guessed")
    assert unknown.returncode == 4 and "unknown token (UNAUTHENTICATED)" in unknown.stderr


async def test_a_revoked_token_replayed_over_grpc_is_refused(hub: Up) -> None:
    created = await hub.cli("users", "token", "create", "admin")
    token = created.stdout.strip()
    address = hub.address("alerting", "grpc_token")
    async with channel(address, ClientTls(hub.ca), token) as chan:
        stub = alerting_pb2_grpc.AlertingServiceStub(chan)
        await stub.ListAlarms(alerting_pb2.ListAlarmsRequest())
        assert (await hub.cli("users", "token", "revoke", token.split("_")[1])).returncode == 0

        async def refusal() -> grpc.aio.AioRpcError | None:
            try:
                await stub.ListAlarms(alerting_pb2.ListAlarmsRequest(), timeout=5)
            except grpc.aio.AioRpcError as err:
                return err
            return None

        err = await wait_until(refusal, timeout=5, message="the revocation reaches alerting")
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in (err.details() or "")


async def test_the_local_operator_cli_path_works_unchanged(hub: Up) -> None:
    status = await hub.cli("status")
    assert status.returncode == 0 and "serving" in status.stdout, status.stderr
    write = await hub.cli(
        "devices", "write", "m1-plc", "speed_setpoint", "5000", "--reason", "push m1",
        PLANTBUS_USER="engineer",
    )  # fmt: skip
    assert write.returncode == 0, write.stderr
    bare = await hub.cli("devices", "write", "m1-plc", "speed_setpoint", "5000")
    assert bare.returncode == 4, "refused"
    assert "the local operator writes to machines only as a configured user" in bare.stderr
    listed = await wait_until(lambda: unacknowledged(hub), timeout=120, interval=1)
    alarm = next(
        re.findall(r"\S+@\S+", line)[0] for line in listed.splitlines() if "unacknowledged" in line
    )
    acked = await hub.cli("alarms", "ack", alarm, "-m", "seen from the CLI")
    assert acked.returncode == 0 and "acknowledged by local-operator" in acked.stdout, acked.stderr
    plant = hub.plant / "plant.yaml"
    plant.write_text(plant.read_text().replace("three CNC machines in a row", "three CNCs"))
    applied = await hub.cli("config", "apply", str(hub.plant), "-m", "shorter description")
    assert applied.returncode == 0 and "applied version 2" in applied.stdout, applied.stderr
    audit = await hub.cli("audit", "--who", "engineer")
    assert "tag.write" in audit.stdout, audit.stdout


async def unacknowledged(hub: Up) -> str:
    """`plantbus alarms list` when it shows an unacknowledged alarm (the seeded faults stop
    a machine within a minute; a stopped machine raises down_too_long), else ''."""
    out = await hub.cli("alarms", "list")
    assert out.returncode == 0, out.stderr
    return out.stdout if "unacknowledged" in out.stdout else ""


def test_the_pki_is_private_and_nothing_secret_is_in_runtime_or_ps(hub: Up) -> None:
    root = hub.data / "pki"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    keys = [*root.glob("*.key"), *(root / "services").glob("*.key")]
    assert len(keys) >= 8  # CA, operator, config signing, six services
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    runtime = (hub.data / "runtime.json").read_text()
    assert "PRIVATE KEY" not in runtime and "pbt_" not in runtime
    assert json.loads(runtime)["insecure"] is False


def test_insecure_is_refused_off_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plantbus.cli", "up", "--insecure", "--random-ports",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PLANTBUS_GRPC_HOST": "0.0.0.0"},
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "gRPC on '0.0.0.0' would be reachable from elsewhere" in result.stderr


def test_insecure_warns_and_the_cli_still_works(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plantbus.cli", "up", "--insecure", "--random-ports",
             "--no-sim", "--data-dir", str(tmp_path / "hub")],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            asyncio.run(wait_until((tmp_path / "hub" / "runtime.json").exists, timeout=90))
            assert "WARNING: --insecure" in log.read_text()
            listed = asyncio.run(Up(tmp_path / "hub", tmp_path).cli("alarms", "list"))
            assert listed.returncode == 0, listed.stderr
        finally:
            proc.send_signal(2)
            proc.wait(60)
