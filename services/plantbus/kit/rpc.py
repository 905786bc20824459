"""The gRPC side of every service: a grpc.aio server with health and reflection, mTLS
(plus a bearer-token port) or, for development on loopback, plaintext; every call
authenticated by the gate of :mod:`plantbus.kit.identity`; one table mapping Plantbus
errors to status codes; a refusal of NaN and infinities in any request
(:mod:`plantbus.kit.finite`); a graceful stop that drains in-flight calls. Its settings are
:mod:`plantbus.kit.grpc_settings`, client channels :mod:`plantbus.kit.grpc_client`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import propagate, trace

from plantbus.kit.audit import AuditUnavailable
from plantbus.kit.finite import require_finite
from plantbus.kit.grpc_settings import GrpcSettings
from plantbus.kit.grpc_tls import CertFiles
from plantbus.kit.identity import Gate
from plantbus.kit.service import GrpcBinding
from plantbus.kit.signing import SignatureInvalid
from plantbus.sdk import errors
from plantbus.sdk.errors import ConfigError, PlantbusError
from plantbus.sdk.historian import StoreUnavailable

__all__ = ["GrpcServer", "status_for"]

log = logging.getLogger(__name__)


_STATUS: dict[type[PlantbusError], grpc.StatusCode] = {
    errors.ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ConfigError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.PointNotFound: grpc.StatusCode.NOT_FOUND,
    errors.ConflictError: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.WriteNotSupported: grpc.StatusCode.FAILED_PRECONDITION,
    errors.DeviceUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ErpUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeviceAuthFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.DriverConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ErpRejected: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PluginValidationError: grpc.StatusCode.FAILED_PRECONDITION,
    AuditUnavailable: grpc.StatusCode.UNAVAILABLE,
    SignatureInvalid: grpc.StatusCode.FAILED_PRECONDITION,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(err: PlantbusError) -> grpc.StatusCode:
    """The gRPC status code for a Plantbus error (most specific class wins)."""
    for cls in type(err).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return grpc.StatusCode.INTERNAL


_DETAILS_BYTES = 2000
"""Longest status message sent, in UTF-8 bytes: gRPC percent-encodes each non-ASCII byte
(three characters) and drops trailers over 8 KiB, so the caller would get
RESOURCE_EXHAUSTED instead of the answer."""


def _status_message(err: PlantbusError) -> str:
    """The error's message as the status detail, cut when it echoes a huge input."""
    text = str(err)
    if len(text.encode()) <= _DETAILS_BYTES:
        return text
    cut = text.encode()[:_DETAILS_BYTES].decode(errors="ignore")
    return f"{cut}... ({len(text) - len(cut)} more characters)"


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
    behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], method: str, gate: Gate
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Oversized):
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, request.message)
        ctx = propagate.extract(dict(context.invocation_metadata() or ()))
        with trace.get_tracer("plantbus.rpc").start_as_current_span(
            method, context=ctx, kind=trace.SpanKind.SERVER
        ):
            try:
                entered = await gate.enter(context, method)
                try:
                    if isinstance(request, Message):  # not for client streams
                        require_finite(request)
                    return await behavior(request, context)
                finally:
                    gate.leave(entered)
            except PlantbusError as err:
                await context.abort(status_for(err), _status_message(err))

    return wrapped


def _wrap_stream(behavior: Callable[..., Any], method: str, gate: Gate) -> Callable[..., Any]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Oversized):
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, request.message)
        try:
            entered = await gate.enter(context, method)
            try:
                if isinstance(request, Message):
                    require_finite(request)
                async for item in behavior(request, context):
                    yield item
            finally:
                gate.leave(entered)
        except PlantbusError as err:
            await context.abort(status_for(err), _status_message(err))

    return wrapped


_HANDLERS: Final = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, _wrap_unary),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, _wrap_stream),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, _wrap_stream),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, _wrap_unary),
)
"""Each kind of RPC handler: its attribute, how it is made, how its behaviour is wrapped."""


class _Guard(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates every call through the gate, turns PlantbusError into the status of
    the table above, opens a server span, and refuses a request over ``max_bytes`` with
    RESOURCE_EXHAUSTED naming the setting. Client-streaming methods (reflection) are
    authenticated too."""

    def __init__(self, gate: Gate, max_bytes: int) -> None:
        self.gate = gate
        self.max_bytes = max_bytes

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        method, gate = details.method, self.gate
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if not handler.request_streaming:  # a single request: bounded, refused when over
            kwargs["request_deserializer"] = _bounded(handler.request_deserializer, self.max_bytes)
        for kind, make, wrap in _HANDLERS:
            if behavior := getattr(handler, kind):
                return make(wrap(behavior, method, gate), **kwargs)
        return handler


class GrpcServer:
    """A grpc.aio server hosting the given bindings plus health and reflection; every call
    passes ``gate`` (authentication) first."""

    def __init__(self, settings: GrpcSettings, bindings: Sequence[GrpcBinding], gate: Gate) -> None:
        self.settings = settings
        self.bindings = list(bindings)
        self.health = health.aio.HealthServicer()
        limit = settings.max_message_bytes
        # gRPC itself drops anything over twice the limit unread; between the two the
        # interceptor answers with a message that names the setting
        self.server = grpc.aio.server(
            interceptors=[_Guard(gate, limit)],
            options=[("grpc.max_receive_message_length", 2 * limit)],
        )
        self.port = 0
        self.token_port = 0

    @property
    def address(self) -> str:
        """host:port of the main port (mTLS, or plaintext with --insecure), after start()."""
        return f"{self.settings.host}:{self.port}"

    @property
    def token_address(self) -> str:
        """host:port of the bearer-token port ('' with --insecure), after start()."""
        return f"{self.settings.host}:{self.token_port}" if self.token_port else ""

    def _bind(self, port: int, creds: grpc.ServerCredentials | None) -> int:
        target = f"{self.settings.host}:{port}"
        try:
            if creds is None:
                return int(self.server.add_insecure_port(target))
            return int(self.server.add_secure_port(target, creds))
        except RuntimeError as err:
            raise ConfigError(
                f"cannot listen for gRPC on {target}: port in use or address not available "
                "(choose another with --grpc-port or --grpc-token-port)"
            ) from err

    async def start(self) -> str:
        """Bind, start and mark every service SERVING; ConfigError when a port is taken or
        the settings are neither TLS nor insecure on loopback."""
        s = self.settings
        s.check()
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
        if s.insecure:
            self.port = self._bind(s.port, None)
        else:
            assert s.tls_cert and s.tls_key and s.tls_ca  # check() made sure
            self.port = self._bind(
                s.port, CertFiles(s.tls_cert, s.tls_key, s.tls_ca).credentials(True)
            )
            self.token_port = self._bind(
                s.token_port, CertFiles(s.tls_cert, s.tls_key, s.tls_ca).credentials(False)
            )
        await self.server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.address

    async def stop(self) -> None:
        """Report NOT_SERVING, stop accepting, let in-flight calls finish within the grace."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.settings.grace_s)
