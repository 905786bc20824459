"""The dashboard's calls to the hub's gRPC services, on behalf of the signed-in user.

Every read and action goes to the service that owns it with ``x-plantbus-user`` set to
the session's user, so that service authorizes (and audits) it as it does for the CLI;
its refusals come back to the page as 4xx with the service's own reason.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from aiohttp import web
from google.protobuf.message import Message

from plantbus.dashboard.auth import Gate
from plantbus.dashboard.http import Refused
from plantbus.dashboard.protojson import to_dict
from plantbus.dashboard.sessions import Session
from plantbus.kit.bus import Bus
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.identity import USER_HEADER
from plantbus.sdk.errors import PlantbusError

__all__ = ["Backend", "Metadata", "View", "as_json", "as_user"]

T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]
_GRPC_STATUS = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


def as_json(msg: Message) -> dict[str, Any]:
    """A message as the page reads it (protobuf's JSON mapping, proto field names)."""
    return to_dict(msg)


def as_user(session: Session | None) -> Metadata:
    """The metadata that makes a call the signed-in user's (none for a public viewer:
    the dashboard then reads as itself)."""
    return ((USER_HEADER, session.user),) if session else ()


class Backend:
    """Calls to the hub's services, their errors as :class:`Refused`."""

    def __init__(self, bus: Bus, tls: ClientTls | None, audit: Callable[..., Awaitable[Any]]):
        self.bus = bus
        self.tls = tls
        self.audit = audit

    async def call(self, service: str, fn: Callable[[grpc.aio.Channel], Awaitable[T]]) -> T:
        """``fn`` on a channel to a serving instance of ``service``."""
        try:
            address = await grpc_address(self.bus, service)
            async with channel(address, self.tls) as chan:
                return await fn(chan)
        except grpc.aio.AioRpcError as err:
            raise Refused(_GRPC_STATUS.get(err.code(), 400), str(err.details())) from None
        except PlantbusError as err:
            raise Refused(503, str(err)) from None

    async def act(
        self,
        service: str,
        action: str,
        target: str,
        user: str,
        fn: Callable[[grpc.aio.Channel], Awaitable[Message]],
    ) -> web.Response:
        """An action: the call, then the dashboard's own audit record; the result as JSON."""
        result = await self.call(service, fn)
        await self.audit(
            action=f"dashboard.{action}", target=target, actor=user, source="dashboard"
        )
        return web.json_response(as_json(result))


class View(abc.ABC):
    """One part of the page's API: the gate says who may, the backend makes the calls."""

    def __init__(self, gate: Gate, backend: Backend) -> None:
        self.gate = gate
        self.backend = backend

    @abc.abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The part's routes."""
