"""gRPC calls from the CLI: find a service, prove who is calling.

Every command calls ``call(hub, "alerting", "Acknowledge", request, user=...)``, so how
the CLI reaches a service and proves who it is lives here alone:

- by default the local operator's certificate from ``<data-dir>/pki`` (made by
  ``plantbus up``; whoever can read the data dir administers the hub), over mTLS;
- ``PLANTBUS_TOKEN``: a bearer token instead, to the services' token port;
- ``PLANTBUS_GRPC_TLS_CA`` / ``_CERT`` / ``_KEY`` override the files (a remote hub);
- ``user`` (``--user``) or ``PLANTBUS_USER`` name the configured user the local operator
  acts for (``x-plantbus-user``); without one the operator acts as itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import grpc
from google.protobuf.message import Message

from plantbus.cli.exits import CliError, Exit, for_status
from plantbus.cli.hub import Hub
from plantbus.kit.discovery import find
from plantbus.kit.grpc_client import ClientTls, channel
from plantbus.kit.identity import USER_HEADER
from plantbus.kit.pki import Pki
from plantbus.kit.settings import from_env
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.v1 import (
    alerting_pb2_grpc,
    device_pb2_grpc,
    erp_pb2_grpc,
    governance_pb2_grpc,
    historian_pb2_grpc,
    maintenance_pb2_grpc,
    oee_pb2_grpc,
)

__all__ = ["call", "credentials", "max_message_bytes"]

_STUBS: Final[dict[str, type[Any]]] = {
    "alerting": alerting_pb2_grpc.AlertingServiceStub,
    "device": device_pb2_grpc.DeviceServiceStub,
    "erp": erp_pb2_grpc.ErpServiceStub,
    "governance": governance_pb2_grpc.GovernanceServiceStub,
    "historian": historian_pb2_grpc.HistorianServiceStub,
    "maintenance": maintenance_pb2_grpc.MaintenanceServiceStub,
    "oee": oee_pb2_grpc.OeeServiceStub,
}


@dataclass(frozen=True)
class _Endpoint:
    address: str
    token_address: str
    tls: bool


@dataclass(frozen=True)
class Credentials:
    """What the CLI presents: TLS files (None: plaintext) and a bearer token."""

    tls: ClientTls | None
    token: str | None = None


def _file(env: str, default: Path) -> Path | None:
    if value := os.environ.get(env):
        return Path(value)
    return default if default.is_file() else None


def credentials(hub: Hub, tls: bool) -> Credentials:
    """The CLI's credential for a hub whose services take TLS (``tls``) or not."""
    if not tls:
        return Credentials(None)
    pki = Pki(hub.data_dir / "pki")
    ca = _file("PLANTBUS_GRPC_TLS_CA", pki.ca_cert)
    if ca is None:
        raise CliError(
            f"the hub's gRPC takes TLS but no CA certificate was found ({pki.ca_cert}): use "
            "the data dir of plantbus up (--data-dir), or set PLANTBUS_GRPC_TLS_CA",
            Exit.REFUSED,
        )
    if token := os.environ.get("PLANTBUS_TOKEN"):
        return Credentials(ClientTls(ca), token)
    cert = _file("PLANTBUS_GRPC_TLS_CERT", pki.operator.cert)
    key = _file("PLANTBUS_GRPC_TLS_KEY", pki.operator.key)
    if cert is None or key is None:
        raise CliError(
            f"no credential for the hub: the local operator's certificate {pki.operator.cert} "
            "is missing or unreadable (run as the user who started plantbus up, with its "
            "--data-dir), or set PLANTBUS_TOKEN to a token from 'plantbus users token create'",
            Exit.REFUSED,
        )
    return Credentials(ClientTls(ca, cert, key))


def max_message_bytes() -> int:
    """The largest message the CLI sends or receives (PLANTBUS_GRPC_MAX_MESSAGE_BYTES)."""
    return from_env()[1].max_message_bytes


def _metadata(user: str | None) -> tuple[tuple[str, str], ...]:
    name = user or os.environ.get("PLANTBUS_USER")
    return ((USER_HEADER, name),) if name else ()


async def _endpoint(hub: Hub, service: str) -> _Endpoint:
    known = hub.runtime.get("services", {}).get(service, {})
    if address := known.get("grpc"):
        return _Endpoint(
            str(address), str(known.get("grpc_token", "")), not hub.runtime.get("insecure")
        )
    bus = await hub.connect()
    try:
        hb = await find(bus, service, wait_s=0, serving_only=False)
    except DeviceUnavailable:
        raise CliError(
            f"no running {service} service found (plantbus status)", Exit.UNREACHABLE
        ) from None
    finally:
        await bus.close()
    return _Endpoint(hb.grpc_address, hb.grpc_token_address, hb.grpc_tls)


def call(
    hub: Hub,
    service: str,
    method: str,
    request: Message,
    *,
    user: str | None = None,
    each: Callable[[Any], None] | None = None,
) -> Any:
    """``service.method(request)``, as ``user`` when given; gRPC errors become one-line
    CLI errors. A server-streaming method hands every response to ``each`` as it arrives."""

    async def run() -> Any:
        endpoint = await _endpoint(hub, service)
        creds = credentials(hub, endpoint.tls)
        address = endpoint.address
        if creds.token:
            if not endpoint.token_address:
                raise CliError(f"{service} takes no bearer tokens (no token port)", Exit.REFUSED)
            address = endpoint.token_address
        async with channel(address, creds.tls, creds.token, max_message_bytes()) as chan:
            rpc = getattr(_STUBS[service](chan), method)
            if each is None:
                return await rpc(request, metadata=_metadata(user))
            async for reply in rpc(request, metadata=_metadata(user)):
                each(reply)
            return None

    try:
        return asyncio.run(run())
    except grpc.aio.AioRpcError as err:
        raise CliError(
            f"{service}: {err.details() or err.code().name} ({err.code().name})",
            for_status(err.code()),
        ) from None
