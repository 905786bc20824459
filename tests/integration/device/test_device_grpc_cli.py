"""DeviceService over gRPC and ``plantbus devices`` against a hosted device service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result

from plantbus.cli.main import cli
from plantbus.device.service import DeviceService
from plantbus.kit.bus import Bus
from plantbus.kit.runner import Runner
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc

CONFIG = {
    "sites": [{"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [
        {"name": "m1"}]}]}]}],
    "devices": [
        {
            "name": "plc",
            "driver": "memory",
            "endpoint": "memory://grpc-cli-plc",
            "machine": "s/a/l/m1",
            "poll_interval_s": 0.05,
            "settings": {"changing": True},
            "tags": [
                {"name": "count", "address": "c", "data_type": "uint32", "unit": "pcs"},
                {"name": "ghost", "address": "missing-x", "data_type": "uint16"},
            ],
        }
    ],
    **people(eve=["tag.write"]),
}  # fmt: skip


@pytest.fixture
async def runner(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[Runner]:
    await put_config(bus, CONFIG)
    async with hosted([DeviceService], nats_url=nats_url, data_dir=tmp_path) as running:
        service = running.services["device"]
        assert isinstance(service, DeviceService)
        await wait_until(lambda: "plc" in service.runners and service.runners["plc"].counters.polls)
        yield running


async def plantbus(runner: Runner, nats_url: str, *args: str, user: str = "") -> Result:
    """Run the CLI in a thread (it runs its own event loop) as the hub's local operator,
    acting for ``user`` when given (PLANTBUS_USER)."""
    hub = ["--nats-url", nats_url, "--data-dir", str(runner.settings.data_dir)]
    env = {"PLANTBUS_USER": user} if user else {}
    return await asyncio.to_thread(CliRunner(env=env).invoke, cli, [*args[:2], *hub, *args[2:]])


async def test_rpcs_list_read_and_stream(runner: Runner) -> None:
    async with operator_channel(runner) as chan:
        stub = device_pb2_grpc.DeviceServiceStub(chan)
        listed = await stub.ListDevices(device_pb2.ListDevicesRequest())
        assert [d.name for d in listed.devices] == ["plc"]
        assert listed.devices[0].state == device_pb2.CONNECTION_STATE_CONNECTED
        read = await stub.ReadTags(device_pb2.ReadTagsRequest(device="plc", tags=["count"]))
        (sample,) = read.samples
        assert sample.path == "s/a/l/m1/count" and sample.value.int_value > 0
        assert sample.unit == "pcs" and read.round_trip_ms >= 0
        shown = await stub.GetDevice(device_pb2.GetDeviceRequest(name="plc"))
        assert shown.device.counters.bad_tags == 1, "ghost has no address"
        stream = stub.StreamSamples(device_pb2.StreamSamplesRequest(device="plc"))
        first = await asyncio.wait_for(stream.read(), 5)
        assert first.batch.device == "plc" and first.batch.samples[0].path.startswith("s/a/l/m1/")
        stream.cancel()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ReadTags(device_pb2.ReadTagsRequest(device="nope"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_devices_cli(runner: Runner, nats_url: str) -> None:
    listed = await plantbus(runner, nats_url, "devices", "list")
    assert listed.exit_code == 0, listed.output
    assert "plc" in listed.output and "connected" in listed.output
    shown = await plantbus(runner, nats_url, "devices", "show", "plc", "--json")
    assert shown.exit_code == 0, shown.output
    assert int(json.loads(shown.output)["counters"]["polls"]) > 0
    read = await plantbus(runner, nats_url, "devices", "read", "plc")
    assert read.exit_code == 0, read.output
    assert "s/a/l/m1/count = " in read.output and "pcs  [good]" in read.output
    assert "s/a/l/m1/ghost = None  [bad]  (no address 'missing-x')" in read.output
    refused = await plantbus(runner, nats_url, "devices", "write", "plc", "count", "5", user="eve")
    assert refused.exit_code == 4, "refused"
    assert "read-only" in refused.output and "PERMISSION_DENIED" in refused.output
    bare = await plantbus(runner, nats_url, "devices", "write", "plc", "count", "5")
    assert bare.exit_code == 4, "refused"
    assert "the local operator writes to machines only as a configured user" in bare.output
