"""gRPC transport security: the main port takes only callers with a certificate from the
hub's CA and names them by its subject; the token port takes TLS without client
certificates and refuses calls without a token; plaintext only with --insecure on
loopback; a renewed certificate is served without a restart."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from plantbus.kit import pki as pki_mod
from plantbus.kit.authn import Authenticator
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.grpc_settings import GrpcSettings
from plantbus.kit.identity import CLIENT_CERT_HEADER, PEER_HEADER, Gate, current
from plantbus.kit.rpc import GrpcServer
from plantbus.kit.service import GrpcBinding
from plantbus.sdk.errors import ConfigError

WHOAMI = "/test.Who/Ami"


class Who:
    async def ami(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return str(current()).encode()

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
def hub_pki(tmp_path: Path) -> pki_mod.Pki:
    return pki_mod.ensure(tmp_path / "pki", ["device"])[0]


@pytest.fixture
async def server(hub_pki: pki_mod.Pki) -> AsyncIterator[GrpcServer]:
    files = hub_pki.service("device")
    settings = GrpcSettings(
        host="127.0.0.1", tls_cert=files.cert, tls_key=files.key, tls_ca=hub_pki.ca_cert
    )
    served = GrpcServer(settings, Who().bindings(), Gate(Authenticator(None)))
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


async def whoami(address: str, tls: ClientTls | None) -> str:
    async with channel(address, tls) as chan:
        reply: bytes = await chan.unary_unary(WHOAMI)(b"", timeout=5)
        return reply.decode()


async def test_the_certificate_subject_names_the_caller(
    server: GrpcServer, hub_pki: pki_mod.Pki, tmp_path: Path
) -> None:
    op = hub_pki.operator
    assert await whoami(server.address, ClientTls(hub_pki.ca_cert, op.cert, op.key)) == (
        "operator 'local-operator'"
    )
    device = hub_pki.service("device")
    assert await whoami(server.address, ClientTls(hub_pki.ca_cert, device.cert, device.key)) == (
        "service 'device'"
    )
    eve = pki_mod.LeafFiles(tmp_path / "eve.crt", tmp_path / "eve.key")
    pki_mod.issue(hub_pki, eve, "user", "eve")
    assert await whoami(server.address, ClientTls(hub_pki.ca_cert, eve.cert, eve.key)) == (
        "user 'eve'"
    )


async def test_callers_without_a_certificate_of_the_hub_ca_are_refused(
    server: GrpcServer, hub_pki: pki_mod.Pki, tmp_path: Path
) -> None:
    other, _ = pki_mod.ensure(tmp_path / "other", [])
    for tls in (
        ClientTls(hub_pki.ca_cert),  # no certificate
        ClientTls(hub_pki.ca_cert, other.operator.cert, other.operator.key),  # another CA
        None,  # plaintext
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await whoami(server.address, tls)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    # the token port: TLS without client certificates; only the health check is open
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await whoami(server.token_address, ClientTls(hub_pki.ca_cert))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no credentials" in (info.value.details() or "")
    async with channel(server.token_address, ClientTls(hub_pki.ca_cert)) as chan:
        reply = await health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(chan).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in reflect:
                pass
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_renewed_pki_is_served_without_a_restart(
    server: GrpcServer, hub_pki: pki_mod.Pki, tmp_path: Path
) -> None:
    """A new CA (as after a rotation) means a new server certificate and new trusted
    clients: a fresh connection with the new operator certificate works only if the
    running server re-read its files."""
    before = tmp_path / "before"
    shutil.copytree(hub_pki.root, before)
    hub_pki.ca_cert.unlink()
    pki_mod.ensure(hub_pki.root, ["device"])
    op = hub_pki.operator
    assert await whoami(server.address, ClientTls(hub_pki.ca_cert, op.cert, op.key)) == (
        "operator 'local-operator'"
    )
    old = pki_mod.Pki(before)
    with pytest.raises(grpc.aio.AioRpcError):
        await whoami(server.address, ClientTls(old.ca_cert, old.operator.cert, old.operator.key))


def test_plaintext_only_when_asked_for_and_only_on_loopback(hub_pki: pki_mod.Pki) -> None:
    with pytest.raises(ConfigError, match="PLANTBUS_GRPC_TLS_CERT, PLANTBUS_GRPC_TLS_KEY"):
        GrpcSettings().check()
    with pytest.raises(ConfigError, match=r"only on loopback, not on '0\.0\.0\.0'"):
        GrpcSettings(host="0.0.0.0", insecure=True).check()
    GrpcSettings(host="127.0.0.1", insecure=True).check()
    GrpcSettings(host="::1", insecure=True).check()


async def test_a_proxy_forwards_the_certificate_its_caller_showed(
    hub_pki: pki_mod.Pki, tmp_path: Path
) -> None:
    """The HTTP API forwards its callers' certificates: believed from a proxy service and
    only when the hub's CA issued them; from any other service the header is ignored."""
    pki_mod.ensure(hub_pki.root, ["device", "gateway"])
    files = hub_pki.service("device")
    settings = GrpcSettings(
        host="127.0.0.1", tls_cert=files.cert, tls_key=files.key, tls_ca=hub_pki.ca_cert
    )
    served = GrpcServer(settings, Who().bindings(), Gate(Authenticator(None, ca=hub_pki.ca_cert)))
    await served.start()
    operator_der = x509_der(hub_pki.operator.cert)
    other, _ = pki_mod.ensure(tmp_path / "other", [])

    async def forwarded(via: str, der: bytes) -> str:
        leaf = hub_pki.service(via)
        tls = ClientTls(hub_pki.ca_cert, leaf.cert, leaf.key)
        metadata = ((CLIENT_CERT_HEADER, der), (PEER_HEADER, "ipv4:192.0.2.7:4711"))
        async with channel(served.address, tls) as chan:
            reply: bytes = await chan.unary_unary(WHOAMI)(b"", metadata=metadata, timeout=5)
            return reply.decode()

    try:
        assert await forwarded("gateway", operator_der) == "operator 'local-operator' via gateway"
        assert await forwarded("device", operator_der) == "service 'device'"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await forwarded("gateway", x509_der(other.operator.cert))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "forwarded client certificate refused" in (info.value.details() or "")
    finally:
        await served.stop()


def x509_der(pem_file: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem_file.read_bytes()).public_bytes(Encoding.DER)
