"""gRPC calls from the CLI: find a service's address, send the caller's identity.

Every command calls ``call(hub, "alerting", "Acknowledge", request, user=...)``, so how
the CLI reaches a service and proves who it is lives here alone.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from typing import Any, Final

import click
import grpc
from google.protobuf.message import Message

from plantbus.cli.hub import Hub
from plantbus.kit.discovery import grpc_address
from plantbus.kit.natsconnect import connect
from plantbus.kit.rpc import channel
from plantbus.kit.settings import from_env
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.v1 import (
    alerting_pb2_grpc,
    device_pb2_grpc,
    erp_pb2_grpc,
    governance_pb2_grpc,
    oee_pb2_grpc,
)

__all__ = ["call", "max_message_bytes", "metadata"]

_STUBS: Final[dict[str, type[Any]]] = {
    "alerting": alerting_pb2_grpc.AlertingServiceStub,
    "device": device_pb2_grpc.DeviceServiceStub,
    "erp": erp_pb2_grpc.ErpServiceStub,
    "governance": governance_pb2_grpc.GovernanceServiceStub,
    "oee": oee_pb2_grpc.OeeServiceStub,
}


def metadata(user: str | None = None) -> tuple[tuple[str, str], ...]:
    """The caller's identity: ``user`` (else PLANTBUS_USER, else the OS user) and a bearer
    token from PLANTBUS_TOKEN."""
    name = user or os.environ.get("PLANTBUS_USER") or getpass.getuser()
    out = [("x-plantbus-user", name)]
    if token := os.environ.get("PLANTBUS_TOKEN"):
        out.append(("authorization", f"Bearer {token}"))
    return tuple(out)


def max_message_bytes() -> int:
    """The largest message the CLI sends or receives (PLANTBUS_GRPC_MAX_MESSAGE_BYTES)."""
    return from_env()[1].max_message_bytes


async def _address(hub: Hub, service: str) -> str:
    if address := hub.runtime.get("services", {}).get(service, {}).get("grpc"):
        return str(address)
    bus = await connect(hub.nats_settings())
    try:
        return await grpc_address(bus, service, wait_s=0, serving_only=False)
    except DeviceUnavailable:
        raise click.ClickException(
            f"no running {service} service found (plantbus status)"
        ) from None
    finally:
        await bus.close()


def call(hub: Hub, service: str, method: str, request: Message, *, user: str | None = None) -> Any:
    """``service.method(request)`` as ``user``; gRPC errors become one-line CLI errors."""

    async def run() -> Any:
        address = await _address(hub, service)
        async with channel(address, max_message_bytes=max_message_bytes()) as chan:
            rpc = getattr(_STUBS[service](chan), method)
            return await rpc(request, metadata=metadata(user))

    try:
        return asyncio.run(run())
    except grpc.aio.AioRpcError as err:
        raise click.ClickException(
            f"{service}: {err.details() or err.code().name} ({err.code().name})"
        ) from None
