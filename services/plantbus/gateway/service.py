"""The HTTP API: every read and action of the gRPC services as JSON over HTTPS.

gRPC-JSON transcoding (docs/architecture.md says why not Connect): the routes are the
``google.api.http`` options of proto/plantbus/v1, every request becomes the RPC's message
and goes to the service that serves it over gRPC, with the caller's credential
(:mod:`plantbus.gateway.http`), so authentication, ``require`` and the audit stay in the
service that acts. HTTPS with this process's certificate from the hub's CA, asking for
(not requiring) a client certificate; ``/v1/openapi.json`` is the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, ClassVar, Final

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plantbus.gateway.http import (
    Refused,
    Transcoder,
    bearer_or_certificate,
    error_body,
    forwarded_metadata,
)
from plantbus.gateway.openapi import DOCUMENT
from plantbus.gateway.routes import Router, routes
from plantbus.kit.audit import record_outcome
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import channel
from plantbus.kit.grpc_settings import MAX_MESSAGE_BYTES, is_loopback
from plantbus.kit.service import Service, ServiceContext
from plantbus.sdk.errors import ConfigError, DeviceUnavailable
from plantbus.v1 import service_pb2

__all__ = ["GatewayOptions", "GatewayService"]

_RELOAD_S: Final = 60.0
_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


class GatewayOptions(BaseModel):
    """``--option gateway.KEY=VALUE``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    https_host: str = "127.0.0.1"
    https_port: int = Field(8443, ge=0, le=65535)
    """0: any free port."""
    max_body_bytes: int = Field(MAX_MESSAGE_BYTES, gt=0)
    call_timeout_s: float = Field(60.0, gt=0)

    @classmethod
    def parse(cls, options: dict[str, Any]) -> GatewayOptions:
        """The options; ConfigError naming each bad one."""
        try:
            return cls.model_validate(options)
        except ValidationError as err:
            problems = "; ".join(
                f"gateway.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise ConfigError(f"bad gateway option: {problems}") from None


class _ServerTls:
    """The HTTPS context: this process's certificate and key, client certificates asked
    for and checked against the hub's CA; loaded again when the files change (renewal)."""

    def __init__(self, cert: Path, key: Path, ca: Path) -> None:
        self.paths = (cert, key, ca)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.verify_mode = ssl.CERT_OPTIONAL
        self._stamp: tuple[float, ...] = ()
        self.reload()

    def _mtimes(self) -> tuple[float, ...]:
        return tuple(p.stat().st_mtime for p in self.paths)

    def reload(self) -> bool:
        """Load the files when they changed; True when it did."""
        cert, key, ca = self.paths
        try:
            stamp = self._mtimes()
            if stamp == self._stamp:
                return False
            self.context.load_cert_chain(cert, key)
            self.context.load_verify_locations(ca)
        except (OSError, ssl.SSLError) as err:
            if not self._stamp:
                raise ConfigError(
                    f"the HTTP API cannot load its certificate {cert}, key {key} or CA {ca}: "
                    f"{err} (PLANTBUS_GRPC_TLS_CERT, _KEY, _CA)"
                ) from err
            return False  # mid-renewal: the next check loads the pair
        self._stamp = stamp
        return True


class GatewayService(Service):
    """Serves https://HOST:PORT/v1/... (default https://127.0.0.1:8443)."""

    name: ClassVar[str] = "gateway"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.options = GatewayOptions.parse(ctx.options)
        self.router = Router(routes())
        self.url = ""
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._runner: web.AppRunner | None = None
        self._tls: _ServerTls | None = None

    def health(self) -> tuple[bool, str]:
        """Serving, with the API's base URL as detail."""
        return True, self.url

    async def start(self) -> None:
        """Listen on HTTPS (plain HTTP on loopback when the hub is --insecure)."""
        o, tls = self.options, self.ctx.grpc_tls
        if tls is not None and tls.cert is not None and tls.key is not None:
            self._tls = _ServerTls(tls.cert, tls.key, tls.ca)
            self.tasks.spawn(self._follow_certificate(), name="gateway-certificate")
        elif not is_loopback(o.https_host):
            raise ConfigError(
                f"the HTTP API serves plaintext on an --insecure hub, so only on loopback, not "
                f"on {o.https_host!r} (option gateway.https_host)"
            )
        transcoder = Transcoder(
            self.router, self._credential, self._channel, self._forget, o.call_timeout_s
        )
        app = web.Application(middlewares=[self._errors], client_max_size=o.max_body_bytes)
        app.on_response_prepare.append(_security_headers)
        app.router.add_get("/v1/openapi.json", self._openapi)
        app.router.add_route("*", "/{tail:.*}", transcoder.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = self._tls.context if self._tls else None
        site = web.TCPSite(self._runner, o.https_host, o.https_port, ssl_context=context)
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"the HTTP API cannot listen on {o.https_host}:{o.https_port}: {err.strerror} "
                "(option gateway.https_port)"
            ) from err
        port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        host = f"[{o.https_host}]" if ":" in o.https_host else o.https_host
        self.url = f"{'https' if context else 'http'}://{host}:{port}/"
        self.ctx.log.info("HTTP API on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and close the channels."""
        if self._runner is not None:
            await self._runner.cleanup()
        for chan in self._channels.values():
            await chan.close()  # no grace: cancels what is under way, never raises
        self._channels.clear()
        await super().stop()

    async def _follow_certificate(self) -> None:
        while self._tls is not None:
            await asyncio.sleep(_RELOAD_S)
            if self._tls.reload():
                self.ctx.log.info("HTTP API: serving the renewed certificate")

    async def _channel(self, service: str) -> grpc.aio.Channel:
        if service not in self._channels:
            try:
                address = await grpc_address(self.ctx.bus, service, wait_s=2.0)
            except DeviceUnavailable as err:
                raise Refused(503, f"{err}; try again when it serves (plantbus status)") from None
            self._channels[service] = channel(address, self.ctx.grpc_tls)
        return self._channels[service]

    def _forget(self, service: str) -> None:
        chan = self._channels.pop(service, None)
        if chan is not None:
            self.tasks.spawn(chan.close(), name=f"gateway-close-{service}")

    async def _credential(self, request: web.Request) -> list[tuple[str, str | bytes]]:
        credential = bearer_or_certificate(request) if self._tls else []
        if self._tls and not credential:
            reason = (
                "no credentials: send 'Authorization: Bearer <token>' (plantbus users token "
                "create) or present a client certificate from the hub's CA"
            )
            peer = request.transport.get_extra_info("peername") if request.transport else None
            await record_outcome(
                self.ctx.audit,
                action="authenticate",
                target=f"{request.method} {request.path}",
                actor="anonymous",
                outcome=service_pb2.AUDIT_OUTCOME_DENIED,
                detail=reason,
                source=f"{peer[0]}:{peer[1]}" if peer else "",
                attributes={"auth": "none", "via": "http"},
            )
            raise Refused(401, reason, {"WWW-Authenticate": 'Bearer realm="plantbus"'})
        return forwarded_metadata(request, credential)

    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        await self._credential(request)
        return web.FileResponse(DOCUMENT, headers={"Content-Type": "application/json"})

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every refusal as JSON with a message: the gateway's own, the services' (mapped
        from their gRPC status) and aiohttp's (413)."""
        try:
            return await handler(request)
        except Refused as err:
            return web.json_response(err.body(), status=err.status, headers=err.headers)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            message = (
                f"the body is larger than {self.options.max_body_bytes:,} bytes "
                "(option gateway.max_body_bytes)"
                if err.status == 413
                else err.reason
            )
            return web.json_response(error_body(err.status, message), status=err.status)
        except Exception:  # the HTTP boundary: a bug is a 500 here and a traceback in the log
            self.ctx.log.exception("HTTP API failed on %s %s", request.method, request.path)
            return web.json_response(
                error_body(500, "internal error (see the gateway's log)", "INTERNAL"), status=500
            )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)
