"""What authenticated gRPC costs: round trips of WriteTag (a policy-checked, audited write to
a memory device, read back) through the device service, over plaintext (--insecure), mTLS
(the local operator acting for a user, as the CLI does) and a bearer token on the token
port; and a call on a new channel each time, handshake included (what every CLI command
and dashboard action pays).

Prints JSON: grpc_write_p50_ms_<mode> and _p99_ms_<mode> for insecure, mtls and token;
grpc_new_channel_p50_ms_<mode> for insecure and mtls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import grpc
from _hub import nats_server, percentile

from plantbus.kit.bus import NatsSettings
from plantbus.kit.grpc_client import channel
from plantbus.kit.natsconnect import connect
from plantbus.kit.runner import Runner
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, issue_token, operator_tls, token_channel
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc, telemetry_pb2

ROUNDS = 400
NEW_CHANNEL_ROUNDS = 60
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "devices": [
        {
            "name": "plc",
            "driver": "memory",
            "endpoint": "memory://grpc-bench",
            "machine": "s/a/l/m1",
            "poll_interval_s": 1.0,
            "tags": [
                {"name": "speed", "address": "s", "data_type": "uint16", "access": "read_write"}
            ],
        }
    ],
    **people(engineer=["tag.write"]),
    "write_policies": [{"name": "speed", "roles": ["engineer"], "tags": ["s/a/l/m1/speed"]}],
}
AS_ENGINEER = (("x-plantbus-user", "engineer"),)


def write(i: int) -> device_pb2.WriteTagRequest:
    value = telemetry_pb2.TagValue(int_value=i % 1000)
    return device_pb2.WriteTagRequest(device="plc", tag="speed", value=value)


async def timed(chan: grpc.aio.Channel, rounds: int, metadata: Any) -> list[float]:
    stub = device_pb2_grpc.DeviceServiceStub(chan)
    await stub.WriteTag(write(0), metadata=metadata)  # connect and warm up
    out = []
    for i in range(rounds):
        started = time.perf_counter()
        await stub.WriteTag(write(i), metadata=metadata)
        out.append((time.perf_counter() - started) * 1000)
    return out


async def fresh(open_channel: Callable[[], grpc.aio.Channel], metadata: Any) -> list[float]:
    out = []
    for i in range(NEW_CHANNEL_ROUNDS):
        started = time.perf_counter()
        async with open_channel() as chan:
            await device_pb2_grpc.DeviceServiceStub(chan).WriteTag(write(i), metadata=metadata)
        out.append((time.perf_counter() - started) * 1000)
    return out


async def running(runner: Runner) -> None:
    """Until the device service runs the memory PLC."""
    device = runner.services["device"]
    await wait_until(lambda: "plc" in device.runners)  # type: ignore[attr-defined]


Modes = dict[str, tuple[Callable[[], grpc.aio.Channel], Any]]


def modes_of(runner: Runner, insecure: bool, token: str) -> Modes:
    """How each mode opens a channel to ``runner``, and the metadata it sends."""
    if insecure:
        return {"insecure": (lambda: channel(runner.grpc_address), AS_ENGINEER)}
    tls = operator_tls(runner.settings.data_dir)
    return {
        "mtls": (lambda: channel(runner.grpc_address, tls), AS_ENGINEER),
        "token": (lambda: token_channel(runner, token), ()),
    }


async def measure(modes: Modes) -> dict[str, float]:
    figures = {}
    for mode, (open_channel, metadata) in modes.items():
        async with open_channel() as chan:
            samples = await timed(chan, ROUNDS, metadata)
        figures[f"grpc_write_p50_ms_{mode}"] = round(percentile(samples, 50), 3)
        figures[f"grpc_write_p99_ms_{mode}"] = round(percentile(samples, 99), 3)
        if mode != "token":
            handshakes = await fresh(open_channel, metadata)
            figures[f"grpc_new_channel_p50_ms_{mode}"] = round(percentile(handshakes, 50), 3)
    return figures


async def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url))
        await put_config(bus, CONFIG)
        token = await issue_token(bus, "engineer")
        for insecure in (True, False):
            data = tmp / ("plain" if insecure else "tls")
            async with hosted(
                ["device"], nats_url=server.url, data_dir=data, insecure=insecure
            ) as runner:
                await running(runner)
                figures.update(await measure(modes_of(runner, insecure, token)))
        await bus.close()
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
