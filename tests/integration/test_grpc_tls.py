"""gRPC with TLS and mTLS: the server serves only encrypted connections, requires a client
certificate when given a CA, and the caller's identity is the certificate's common name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from plantbus.sdk.identity import caller
from plantbus.sdk.rpc import GrpcServer, GrpcSettings, channel
from plantbus.sdk.service import GrpcBinding

WHOAMI = "/test.Who/Ami"


def issue(
    tmp: Path,
    name: str,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    ca: bool = False,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_cert, signer_key = issuer if issuer else (None, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    (tmp / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert, key


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


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca = issue(tmp_path, "ca", None, ca=True)
    issue(tmp_path, "localhost", ca)
    issue(tmp_path, "alice", ca)
    return tmp_path


async def test_mtls_requires_a_client_certificate_and_names_the_caller(pki: Path) -> None:
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
