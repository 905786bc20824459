"""The gRPC side of every service: a grpc.aio server with health and reflection, mTLS
(plus a bearer-token port) or, for development on loopback, plaintext; every call
authenticated by the gate of :mod:`plantbus.kit.identity`; one table mapping Plantbus
errors to status codes; a refusal of NaN and infinities in any request; a graceful stop
that drains in-flight calls.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import propagate, trace
from pydantic import BaseModel, Field

from plantbus.kit.audit import AuditUnavailable
from plantbus.kit.identity import Gate
from plantbus.kit.service import GrpcBinding
from plantbus.kit.signing import SignatureInvalid
from plantbus.sdk import errors
from plantbus.sdk.errors import ConfigError, PlantbusError, ValidationFailed
from plantbus.sdk.historian import StoreUnavailable

__all__ = [
    "MAX_MESSAGE_BYTES",
    "ClientTls",
    "GrpcServer",
    "GrpcSettings",
    "channel",
    "is_loopback",
    "require_finite",
    "status_for",
]

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


def _values(name: str, value: object) -> Iterable[tuple[str, object]]:
    """(path, value) of one field's value: itself, or each element of a repeated or map
    field."""
    if isinstance(value, Mapping):
        return ((f"{name}[{key!r}]", v) for key, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return ((f"{name}[{i}]", v) for i, v in enumerate(value))
    return ((name, value),)


def _non_finite(msg: Message, prefix: str = "") -> tuple[str, float] | None:
    """(path, value) of the first float or double field of ``msg`` (nested, repeated and
    map fields included) that holds NaN or an infinity."""
    for field, value in msg.ListFields():
        for path, item in _values(f"{prefix}{field.name}", value):
            if isinstance(item, Message):
                found = _non_finite(item, f"{path}.")
                if found:
                    return found
            elif isinstance(item, float) and not math.isfinite(item):
                return path, item
    return None


def require_finite(msg: Message) -> None:
    """ValidationFailed naming the field of ``msg`` that holds NaN or an infinity.

    Every comparison with NaN is false, so a check written as ``if x <= 0: refuse`` lets
    it through: it is refused here, once for every service, before any handler runs.
    """
    found = _non_finite(msg)
    if found:
        path, value = found
        raise ValidationFailed(
            f"{msg.DESCRIPTOR.name}.{path} is {value}: only finite numbers are accepted"
        )


class GrpcSettings(BaseModel):
    """Where and how a service's gRPC server listens.

    Secure by default: the main port takes only callers with a client certificate from
    ``tls_ca`` (mTLS, what services and the local operator use); ``token_port`` serves
    the same services over TLS without client certificates, for bearer-token callers
    (grpcio can require client certificates or not ask for them, not ask and accept
    either). ``insecure`` serves plaintext on the main port alone, on loopback only.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token_port: int = 0
    """0: any free port."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    insecure: bool = False
    grace_s: float = 5.0
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, gt=0)
    """Largest request the server reads (PLANTBUS_GRPC_MAX_MESSAGE_BYTES); the CLI's channel
    sends and receives as much."""

    def check(self) -> None:
        """ConfigError unless the settings are TLS with a CA, or insecure on loopback."""
        if self.insecure:
            if not is_loopback(self.host):
                raise ConfigError(
                    f"--insecure serves gRPC without authentication, so only on loopback, not "
                    f"on {self.host!r}: use --grpc-host 127.0.0.1, or certificates"
                )
            return
        missing = [
            env
            for env, value in (
                ("PLANTBUS_GRPC_TLS_CERT", self.tls_cert),
                ("PLANTBUS_GRPC_TLS_KEY", self.tls_key),
                ("PLANTBUS_GRPC_TLS_CA", self.tls_ca),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"gRPC needs TLS: {', '.join(missing)} not set (plantbus up makes them in "
                "<data-dir>/pki; see docs/security.md), or --insecure for development on "
                "loopback"
            )


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"gRPC TLS: cannot read {path}: {err.strerror}") from err


def _pair_matches(key_pem: bytes, cert_pem: bytes) -> bool:
    """True when the key belongs to the certificate (not a renewal caught halfway)."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return False
    der = serialization.Encoding.DER
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(
        key.public_key().public_bytes(der, info) == cert.public_key().public_bytes(der, info)
    )


class _CertFiles:
    """The server's certificate, key and CA files, read again when they change on disk
    (renewal by ``plantbus up``), so a running server never serves an expired one."""

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.paths = (cert, key, ca)
        self._stamp = self._mtimes()
        self.initial = self._load()
        if self.initial is None:
            raise ConfigError(f"gRPC TLS: the key {key} does not belong to the certificate {cert}")

    def _mtimes(self) -> tuple[float, ...]:
        return tuple(p.stat().st_mtime if p.exists() else 0.0 for p in self.paths)

    def _load(self) -> grpc.ServerCertificateConfiguration | None:
        cert, key, ca = (_read(p) for p in self.paths)
        if not _pair_matches(key, cert):
            return None
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by grpc before each handshake: a new configuration, or None to keep it."""
        try:
            stamp = self._mtimes()
            if stamp == self._stamp:
                return None
            loaded = self._load()
        except Exception:
            log.exception("gRPC TLS: reloading %s failed; keeping the current one", self.paths[0])
            return None
        if loaded is not None:  # else: key and certificate caught mid-renewal, try again
            self._stamp = stamp
            log.info("gRPC TLS: serving the renewed certificate %s", self.paths[0])
        return loaded

    def credentials(self, require_client_certificate: bool) -> grpc.ServerCredentials:
        """Server credentials that follow the files."""
        return grpc.dynamic_ssl_server_credentials(
            self.initial, self.fetch, require_client_authentication=require_client_certificate
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
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method, gate), **kwargs
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method, gate), **kwargs
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                _wrap_stream(handler.stream_stream, method, gate), **kwargs
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary(handler.stream_unary, method, gate), **kwargs
            )
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
                s.port, _CertFiles(s.tls_cert, s.tls_key, s.tls_ca).credentials(True)
            )
            self.token_port = self._bind(
                s.token_port, _CertFiles(s.tls_cert, s.tls_key, s.tls_ca).credentials(False)
            )
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
        root_certificates=_read(tls.ca),
        private_key=_read(tls.key) if tls.key else None,
        certificate_chain=_read(tls.cert) if tls.cert else None,
    )
    if token:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
    return grpc.aio.secure_channel(address, creds, options, interceptors=interceptors)
