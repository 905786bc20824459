"""``plantbus tail``: bus messages decoded to JSON lines, for people and scripts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import click
from nats.aio.msg import Msg

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import to_json
from plantbus.kit.bus import decode
from plantbus.sdk.errors import ValidationFailed

__all__ = ["commands"]


async def _tail(hub: Hub, subject: str, count: int | None, timeout: float | None) -> int:
    bus = await hub.connect()
    seen = 0
    done = asyncio.Event()

    async def on_msg(raw: Msg) -> None:
        nonlocal seen
        if done.is_set():
            return
        try:
            payload: Any = to_json(decode(raw.data, raw.headers))
        except ValidationFailed as err:
            payload = {"error": str(err), "size": len(raw.data)}
        click.echo(json.dumps({"subject": raw.subject, "message": payload}))
        seen += 1
        if count is not None and seen >= count:
            done.set()

    try:
        await bus.nc.subscribe(subject, cb=on_msg)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
    finally:
        await bus.close()
    return seen


@click.command()
@click.argument("subject")
@click.option("--count", type=int, help="Stop after N messages.")
@click.option("--timeout", type=float, help="Stop after S seconds.")
@hub_options
def tail(subject: str, count: int | None, timeout: float | None, hub: Hub) -> None:
    """Print bus messages on SUBJECT (wildcards allowed) as JSON lines."""
    seen = asyncio.run(_tail(hub, subject, count, timeout))
    if count is not None and seen < count:
        raise click.ClickException(
            f"only {seen} of {count} messages on {subject} within {timeout}s"
        )


commands = [tail]
