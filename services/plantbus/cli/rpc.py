"""gRPC calls from the CLI: find a service's address, send the caller's identity."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import grpc

from plantbus.cli.hub import Hub
from plantbus.kit.bus import NatsSettings, connect
from plantbus.kit.heartbeat import read_heartbeats
from plantbus.kit.rpc import channel

__all__ = ["call", "metadata"]

T = TypeVar("T")


def metadata() -> tuple[tuple[str, str], ...]:
    """The caller's identity: a bearer token from PLANTBUS_TOKEN, and the OS user name."""
    out = [("x-plantbus-user", os.environ.get("PLANTBUS_USER") or getpass.getuser())]
    if token := os.environ.get("PLANTBUS_TOKEN"):
        out.append(("authorization", f"Bearer {token}"))
    return tuple(out)


async def _address(hub: Hub, service: str) -> str:
    if address := hub.runtime.get("services", {}).get(service, {}).get("grpc"):
        return str(address)
    bus = await connect(NatsSettings(url=hub.nats_url, name="plantbus-cli"))
    try:
        for hb in await read_heartbeats(bus):
            if hb.service == service and hb.grpc_address:
                return hb.grpc_address
    finally:
        await bus.close()
    raise click.ClickException(f"no running {service} service found (plantbus status)")


def call(hub: Hub, service: str, stub_class: type[Any], fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(stub)`` against ``service``; gRPC errors become one-line CLI errors."""

    async def run() -> T:
        async with channel(await _address(hub, service)) as chan:
            return await fn(stub_class(chan))

    try:
        return asyncio.run(run())
    except grpc.aio.AioRpcError as err:
        raise click.ClickException(
            f"{service}: {err.details() or err.code().name} ({err.code().name})"
        ) from None
