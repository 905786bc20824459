"""gRPC with TLS and mTLS: the server serves only encrypted connections, requires a client
certificate when given a CA, and the caller's identity is the certificate's common name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plantbus.kit.identity import caller
from plantbus.kit.rpc import GrpcServer, GrpcSettings, channel
from plantbus.kit.service import GrpcBinding

WHOAMI = "/test.Who/Ami"


class Who:
    async def ami(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return caller(context).encode()

    def bindings(self) -> Sequence[GrpcBinding]:
        handler = grpc.method_handlers_generic_handler(
            "test.Who", {"Ami": grpc.unary_unary_rpc_method_handler(self.ami)}
        )
        return [
            GrpcBinding(
                lambda _s, server: server.add_generic_rpc_handlers((handler,)), self, "test.Who"
            )
        ]


async def test_mtls_requires_a_client_certificate_and_names_the_caller(pki: Path) -> None:
    """``pki`` (tests/conftest.py): ca, localhost and alice certificates."""
    settings = GrpcSettings(
        host="localhost",
        port=0,
        tls_cert=pki / "localhost.crt",
        tls_key=pki / "localhost.key",
        tls_ca=pki / "ca.crt",
    )
    server = GrpcServer(settings, Who().bindings())
    address = await server.start()
    try:
        async with channel(
            address,
            tls_ca=pki / "ca.crt",
            client_cert=pki / "alice.crt",
            client_key=pki / "alice.key",
        ) as chan:
            health = health_pb2_grpc.HealthStub(chan)
            reply = await health.Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            assert await chan.unary_unary(WHOAMI)(b"") == b"alice"
        async with channel(address, tls_ca=pki / "ca.crt") as anonymous:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await health_pb2_grpc.HealthStub(anonymous).Check(
                    health_pb2.HealthCheckRequest(), timeout=5
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        async with channel(address) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError):
                await health_pb2_grpc.HealthStub(plaintext).Check(
                    health_pb2.HealthCheckRequest(), timeout=5
                )
    finally:
        await server.stop()
