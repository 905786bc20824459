"""One HTTP request to one gRPC call: routing, the caller's credential, the request message,
the call to the service that acts, and its answer or refusal as JSON.

Authentication is the gRPC services' own: the gateway passes a bearer token on as it came
and a client certificate (checked against the hub's CA by its TLS) in a header believed
only from a proxy (:mod:`plantbus.kit.identity`), so the service that acts authenticates,
authorizes (``require``) and audits the caller itself. The gateway refuses only what it
can tell alone: no credential at all (401, audited), a malformed request (400), an unknown
route (404) or verb (405).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from plantbus.gateway.routes import BadRequest, Match, MethodNotAllowed, Route, Router, hub_service
from plantbus.kit.identity import CLIENT_CERT_HEADER, PEER_HEADER, USER_HEADER

__all__ = [
    "HTTP_STATUS",
    "Call",
    "Refused",
    "Transcoder",
    "bearer_or_certificate",
    "error_body",
    "forwarded_metadata",
]

log = logging.getLogger("plantbus.gateway")

HTTP_STATUS: Final[dict[grpc.StatusCode, int]] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
"""gRPC status -> HTTP status, as Google's transcoding maps them (others: 500)."""

_STATUS_NAME: Final = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    503: "UNAVAILABLE",
}
_FIRST_ITEM_S: Final = 2.0
"""How long a stream's answer waits for its first message before sending its headers."""


class Refused(Exception):
    """A request the gateway answers itself with ``status`` and this message."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        grpc_status: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.grpc_status = grpc_status

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return error_body(self.status, str(self), self.grpc_status)


def error_body(status: int, message: str, grpc_status: str = "") -> dict[str, Any]:
    """The JSON of every refusal."""
    name = grpc_status or _STATUS_NAME.get(status, "UNKNOWN")
    return {"error": {"code": status, "status": name, "message": message}}


def _json(msg: Message) -> dict[str, Any]:
    return MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (only finite numbers)")


@dataclass(frozen=True)
class Call:
    """What the gateway forwards: the route, the request message and the metadata that
    carries the caller's credential."""

    route: Route
    request: Message
    metadata: tuple[tuple[str, str | bytes], ...]


Authenticate = Callable[[web.Request], Awaitable[list[tuple[str, str | bytes]]]]
ChannelFor = Callable[[str], Awaitable[grpc.aio.Channel]]
Forget = Callable[[str], None]


class Transcoder:
    """The aiohttp handler of every route of ``router``."""

    def __init__(
        self,
        router: Router,
        authenticate: Authenticate,
        channel_for: ChannelFor,
        forget: Forget,
        timeout_s: float,
    ) -> None:
        self.router = router
        self.authenticate = authenticate
        self.channel_for = channel_for
        self.forget = forget
        self.timeout_s = timeout_s

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, route, build the message, call the service, answer."""
        metadata = await self.authenticate(request)
        try:
            match = self.router.match(request.method, request.path)
        except MethodNotAllowed as err:
            raise Refused(
                405,
                f"{request.method} is not allowed on {request.path}: use {', '.join(err.allowed)}",
                {"Allow": ", ".join(err.allowed)},
            ) from None
        except LookupError:
            raise Refused(
                404,
                f"no route {request.method} {request.path}: the routes are in /v1/openapi.json "
                "(docs/http-api.md)",
            ) from None
        call = Call(match.route, await self._message(request, match), tuple(metadata))
        if call.route.streaming:
            return await self._stream(request, call)
        return web.json_response(_json(await self._unary(call)))

    async def _message(self, request: web.Request, match: Match) -> Message:
        route = match.route
        raw = await request.read()  # over client_max_size: 413, answered by the middleware
        body: object | None = None
        if raw.strip():
            if route.body != "*":
                raise Refused(400, f"{route.verb.upper()} {route.template} takes no body")
            if request.content_type not in ("application/json", "application/octet-stream"):
                raise Refused(
                    415,
                    f"the body must be JSON (Content-Type: application/json), not "
                    f"{request.content_type}",
                )
            try:
                body = json.loads(raw, parse_constant=_no_constant)
            except RecursionError:
                raise Refused(400, "the JSON body is nested too deeply") from None
            except ValueError as err:
                raise Refused(400, f"the body is not valid JSON: {err}") from None
        try:
            return route.build(match.path, request.query.items(), body)
        except BadRequest as err:
            raise Refused(400, str(err)) from None

    async def _stub(self, call: Call) -> tuple[str, Any]:
        """The service that serves ``call`` and the gRPC callable of its method."""
        service = hub_service(call.route)
        chan = await self.channel_for(service)
        method = chan.unary_stream if call.route.streaming else chan.unary_unary
        stub = method(
            call.route.grpc_path,
            request_serializer=_serialize,
            response_deserializer=call.route.response_class().FromString,
        )
        return service, stub

    async def _unary(self, call: Call) -> Message:
        service, stub = await self._stub(call)
        try:
            reply: Message = await stub(
                call.request, metadata=call.metadata, timeout=self.timeout_s
            )
        except grpc.aio.AioRpcError as err:
            raise self._refusal(service, err) from None
        return reply

    async def _stream(self, request: web.Request, call: Call) -> web.StreamResponse:
        service, stub = await self._stub(call)
        stream = stub(call.request, metadata=call.metadata)
        items = aiter(stream)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        first = asyncio.ensure_future(anext(items))
        try:
            try:  # a refusal before the first message is an HTTP status, not a line
                await asyncio.wait_for(asyncio.shield(first), _FIRST_ITEM_S)
            except TimeoutError:
                pass
            except grpc.aio.AioRpcError as err:
                raise self._refusal(service, err) from None
            except StopAsyncIteration:
                await response.prepare(request)
                return response
            await response.prepare(request)
            try:
                await response.write(_line(await first))
                async for item in items:
                    await response.write(_line(item))
            except StopAsyncIteration:
                pass
            except grpc.aio.AioRpcError as err:
                await response.write(_line_of(self._refusal(service, err).body()))
        finally:
            first.cancel()
            stream.cancel()
        return response

    def _refusal(self, service: str, err: grpc.aio.AioRpcError) -> Refused:
        code = err.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            self.forget(service)  # the next call looks the service up again
        return Refused(
            HTTP_STATUS.get(code, 500), err.details() or code.name, grpc_status=code.name
        )


def _line(msg: Message) -> bytes:
    return _line_of(_json(msg))


def _line_of(data: dict[str, Any]) -> bytes:
    return (json.dumps(data) + "\n").encode()


def forwarded_metadata(
    request: web.Request, credential: list[tuple[str, str | bytes]]
) -> list[tuple[str, str | bytes]]:
    """``credential`` plus the caller's address and the user it acts for, if any."""
    out = list(credential)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if peer:
        host, port = str(peer[0]), int(peer[1])
        out.append((PEER_HEADER, f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"))
    if user := request.headers.get("X-Plantbus-User", "").strip():
        if not user.isascii() or not user.isprintable():
            raise Refused(400, "the X-Plantbus-User header must be a user name in ASCII")
        out.append((USER_HEADER, user))
    return out


def bearer_or_certificate(request: web.Request) -> list[tuple[str, str | bytes]]:
    """The caller's credential as gRPC metadata: its bearer token, or the DER of the client
    certificate its TLS verified; [] when it showed neither."""
    if (value := request.headers.get("Authorization")) is not None:
        scheme, _, token = value.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or not token.isascii():
            raise Refused(
                401,
                "the Authorization header must be 'Bearer <token>' (plantbus users token create)",
                {"WWW-Authenticate": 'Bearer realm="plantbus"'},
            )
        return [("authorization", f"Bearer {token}")]
    tls = request.transport.get_extra_info("ssl_object") if request.transport else None
    der = tls.getpeercert(binary_form=True) if tls is not None else None
    return [(CLIENT_CERT_HEADER, der)] if der else []


def _serialize(msg: Message) -> bytes:
    return msg.SerializeToString()
