"""The gRPC side of every service: a grpc.aio server with health and reflection,
optional TLS or mTLS, one table mapping Plantbus errors to status codes, and a
graceful stop that drains in-flight calls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import propagate, trace
from pydantic import BaseModel, Field

from plantbus.kit.audit import AuditUnavailable
from plantbus.kit.service import GrpcBinding
from plantbus.kit.signing import SignatureInvalid
from plantbus.sdk import errors
from plantbus.sdk.errors import ConfigError, PlantbusError

__all__ = ["MAX_MESSAGE_BYTES", "GrpcServer", "GrpcSettings", "channel", "status_for"]

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 32 * 2**20
"""The default bound on one gRPC message, as large as the biggest config document."""

_STATUS: dict[type[PlantbusError], grpc.StatusCode] = {
    errors.ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ConfigError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.PointNotFound: grpc.StatusCode.NOT_FOUND,
    errors.ConflictError: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.WriteNotSupported: grpc.StatusCode.FAILED_PRECONDITION,
    errors.DeviceUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ErpUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeviceAuthFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.DriverConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ErpRejected: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PluginValidationError: grpc.StatusCode.FAILED_PRECONDITION,
    AuditUnavailable: grpc.StatusCode.UNAVAILABLE,
    SignatureInvalid: grpc.StatusCode.FAILED_PRECONDITION,
}


def status_for(err: PlantbusError) -> grpc.StatusCode:
    """The gRPC status code for a Plantbus error (most specific class wins)."""
    for cls in type(err).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return grpc.StatusCode.INTERNAL


class GrpcSettings(BaseModel):
    """Where and how a service's gRPC server listens."""

    host: str = "127.0.0.1"
    port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    """With a CA, clients must present a certificate signed by it (mTLS)."""
    grace_s: float = 5.0
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, gt=0)
    """Largest request the server reads (PLANTBUS_GRPC_MAX_MESSAGE_BYTES); the CLI's channel
    sends and receives as much."""

    def credentials(self) -> grpc.ServerCredentials | None:
        """Server credentials, or None for a plaintext port."""
        if not self.tls_cert:
            return None
        if not self.tls_key:
            raise ConfigError("gRPC TLS: a certificate was given without its key (tls_key)")
        try:
            key = self.tls_key.read_bytes()
            cert = self.tls_cert.read_bytes()
            ca = self.tls_ca.read_bytes() if self.tls_ca else None
        except OSError as err:
            raise ConfigError(f"gRPC TLS: cannot read {err.filename}: {err.strerror}") from err
        return grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
        )


class _Oversized:
    """What a request over the limit deserializes to: the call is refused before it runs."""

    def __init__(self, size: int, limit: int) -> None:
        self.message = (
            f"request is {size:,} bytes, more than this server's limit of {limit:,} "
            "(gRPC setting max_message_bytes, PLANTBUS_GRPC_MAX_MESSAGE_BYTES)"
        )


def _bounded(deserialize: Callable[[bytes], Any] | None, limit: int) -> Callable[[bytes], Any]:
    def bounded(raw: bytes) -> Any:
        if len(raw) > limit:
            return _Oversized(len(raw), limit)
        return deserialize(raw) if deserialize else raw

    return bounded


def _wrap_unary(
    behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], method: str
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Oversized):
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, request.message)
        ctx = propagate.extract(dict(context.invocation_metadata() or ()))
        with trace.get_tracer("plantbus.rpc").start_as_current_span(
            method, context=ctx, kind=trace.SpanKind.SERVER
        ):
            try:
                return await behavior(request, context)
            except PlantbusError as err:
                await context.abort(status_for(err), str(err))

    return wrapped


def _wrap_stream(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Oversized):
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, request.message)
        try:
            async for item in behavior(request, context):
                yield item
        except PlantbusError as err:
            await context.abort(status_for(err), str(err))

    return wrapped


class _ErrorMapping(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Turns PlantbusError into the status of the table above, opens a server span, and
    refuses a request over ``max_bytes`` with RESOURCE_EXHAUSTED naming the setting."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        deserialize = _bounded(handler.request_deserializer, self.max_bytes)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method),
                request_deserializer=deserialize,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method),
                request_deserializer=deserialize,
                response_serializer=handler.response_serializer,
            )
        return handler


class GrpcServer:
    """A grpc.aio server hosting the given bindings plus health and reflection."""

    def __init__(self, settings: GrpcSettings, bindings: Sequence[GrpcBinding]) -> None:
        self.settings = settings
        self.bindings = list(bindings)
        self.health = health.aio.HealthServicer()
        limit = settings.max_message_bytes
        # gRPC itself drops anything over twice the limit unread; between the two the
        # interceptor answers with a message that names the setting
        self.server = grpc.aio.server(
            interceptors=[_ErrorMapping(limit)],
            options=[("grpc.max_receive_message_length", 2 * limit)],
        )
        self.port = 0

    @property
    def address(self) -> str:
        """host:port the server listens on, after start()."""
        return f"{self.settings.host}:{self.port}"

    async def start(self) -> str:
        """Bind, start and mark every service SERVING; ConfigError when the port is taken."""
        for binding in self.bindings:
            binding.add(binding.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [b.full_name for b in self.bindings]
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        target = f"{self.settings.host}:{self.settings.port}"
        creds = self.settings.credentials()
        try:
            if creds:
                self.port = self.server.add_secure_port(target, creds)
            else:
                self.port = self.server.add_insecure_port(target)
        except RuntimeError as err:
            raise ConfigError(
                f"cannot listen for gRPC on {target}: port in use or address not available "
                "(choose another with --grpc-port)"
            ) from err
        await self.server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.address

    async def stop(self) -> None:
        """Report NOT_SERVING, stop accepting, let in-flight calls finish within the grace."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.grace_s)


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

    async def intercept_unary_stream(
        self,
        continuation: Callable[..., Any],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(self._details(details), request)


def channel(
    address: str,
    tls_ca: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> grpc.aio.Channel:
    """A client channel to ``address`` that carries trace context and sends and receives
    messages up to ``max_message_bytes``; TLS when a CA is given, mTLS when a client
    certificate and key are given too."""
    interceptors = [_TraceContext()]
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    if tls_ca:
        creds = grpc.ssl_channel_credentials(
            root_certificates=tls_ca.read_bytes(),
            private_key=client_key.read_bytes() if client_key else None,
            certificate_chain=client_cert.read_bytes() if client_cert else None,
        )
        return grpc.aio.secure_channel(address, creds, options, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, options, interceptors=interceptors)
