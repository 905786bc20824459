"""NATS with TLS and client certificates: the hub's clients connect with the
PLANTBUS_NATS_TLS_* settings; a client without a certificate, or without TLS, is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.sdk.errors import ConfigError
from plantbus.v1 import telemetry_pb2


@pytest.fixture
def tls_server(tmp_path: Path, pki: Path) -> Iterator[NatsServer]:
    server = NatsServer(
        store_dir=tmp_path / "nats",
        extra_args=[
            "--tlsverify",
            "--tlscert",
            str(pki / "localhost.crt"),
            "--tlskey",
            str(pki / "localhost.key"),
            "--tlscacert",
            str(pki / "ca.crt"),
        ],
    ).start()
    try:
        yield server
    finally:
        server.stop()


async def test_mutual_tls_round_trip_and_refusals(tls_server: NatsServer, pki: Path) -> None:
    url = f"tls://localhost:{tls_server.client_port}"
    settings = NatsSettings(
        url=url, tls_ca=pki / "ca.crt", tls_cert=pki / "alice.crt", tls_key=pki / "alice.key"
    )
    bus = await connect(settings)
    try:
        got: asyncio.Queue[Message] = asyncio.Queue()

        async def handler(subject: str, msg: Message, raw: Msg) -> None:
            await got.put(msg)

        await bus.subscribe("tls.check", handler)
        sample = telemetry_pb2.TagSample(path="secure")
        await bus.publish("tls.check", sample)
        assert await asyncio.wait_for(got.get(), 5) == sample
    finally:
        await bus.close()
    anonymous = NatsSettings(url=url, tls_ca=pki / "ca.crt", connect_timeout_s=2)
    with pytest.raises(ConfigError, match="cannot connect to NATS"):
        await connect(anonymous, initial_attempts=1)
    plaintext = NatsSettings(url=f"nats://127.0.0.1:{tls_server.client_port}", connect_timeout_s=2)
    with pytest.raises(ConfigError, match="cannot connect to NATS"):
        await connect(plaintext, initial_attempts=1)
