"""Client channels to the hub's gRPC services: TLS with a client certificate or a bearer
token (or plaintext on loopback), the trace context on every call, the message bound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import propagate

from plantbus.kit.grpc_settings import MAX_MESSAGE_BYTES
from plantbus.kit.grpc_tls import read_pem
from plantbus.sdk.errors import ConfigError

__all__ = ["ClientTls", "channel"]


class _TraceContext(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Adds the current W3C trace context to the metadata of every outgoing call."""

    @staticmethod
    def _details(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        for key, value in carrier.items():
            metadata.add(key, value)
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
        )

    async def intercept_unary_unary(
        self,
        continuation: Callable[..., Any],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(self._details(details), request)

    intercept_unary_stream = intercept_unary_unary  # a stream's call starts the same way


@dataclass(frozen=True)
class ClientTls:
    """How a client verifies servers (``ca``) and proves who it is (``cert`` + ``key``)."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


def channel(
    address: str,
    tls: ClientTls | None = None,
    token: str | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> grpc.aio.Channel:
    """A client channel to ``address`` that carries trace context and sends and receives
    messages up to ``max_message_bytes``: plaintext without ``tls``; TLS checking the
    server against ``tls.ca``, presenting ``tls.cert`` when given; ``token`` is sent as
    ``authorization: Bearer`` (over TLS only). Files are read here, so a channel opened
    after a renewal presents the new certificate."""
    interceptors = [_TraceContext()]
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    if tls is None:
        if token:
            raise ConfigError("a bearer token is sent only over TLS: give the hub's CA")
        return grpc.aio.insecure_channel(address, options, interceptors=interceptors)
    creds = grpc.ssl_channel_credentials(
        root_certificates=read_pem(tls.ca),
        private_key=read_pem(tls.key) if tls.key else None,
        certificate_chain=read_pem(tls.cert) if tls.cert else None,
    )
    if token:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
    return grpc.aio.secure_channel(address, creds, options, interceptors=interceptors)
