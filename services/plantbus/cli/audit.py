"""``plantbus audit``: who did what and when; ``plantbus audit verify``: are the records
as their services wrote them (the hash chains of :mod:`plantbus.kit.audit`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from google.protobuf.json_format import MessageToDict
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.cli import durations
from plantbus.cli.hub import Hub, hub_options
from plantbus.kit import streams
from plantbus.kit.audit import verify_chains
from plantbus.kit.subjects import PREFIX
from plantbus.v1 import service_pb2

__all__ = ["commands"]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    if (ago := durations.seconds(value)) is not None:
        return datetime.now(UTC) - timedelta(seconds=ago)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use 30m, 2h, 7d or an ISO time", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _records(
    hub: Hub, since: datetime | None
) -> AsyncIterator[tuple[int, service_pb2.AuditRecord]]:
    """(stream sequence, record) of every stored record, oldest first."""
    bus = await hub.connect()
    try:
        info = await bus.js.stream_info(streams.AUDIT.name)
        if not info.state.messages:
            return
        policy = DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL
        consumer = ConsumerConfig(deliver_policy=policy, opt_start_time=since)
        sub = await bus.js.subscribe(
            f"{PREFIX}.audit.>", stream=streams.AUDIT.name, ordered_consumer=True, config=consumer
        )
        last = info.state.last_seq
        while True:
            try:
                msg = await sub.next_msg(timeout=2)
            except TimeoutError:
                break
            seq = msg.metadata.sequence.stream
            yield seq, service_pb2.AuditRecord.FromString(msg.data)
            if seq >= last:
                break
        await sub.unsubscribe()
    finally:
        await bus.close()


async def _read_audit(hub: Hub, since: datetime | None, who: str | None) -> list[dict[str, Any]]:
    return [
        MessageToDict(record, preserving_proto_field_name=True)
        async for _, record in _records(hub, since)
        if not who or record.actor == who
    ]


@click.group(invoke_without_command=True)
@click.option("--since", help="Only records after this (30m, 2h, 7d or an ISO time).")
@click.option("--who", help="Only records of this actor.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@hub_options
def audit(ctx: click.Context, since: str | None, who: str | None, as_json: bool, hub: Hub) -> None:
    """Who did what and when: applies, rollbacks, writes and denials."""
    if ctx.invoked_subcommand is not None:
        return
    records = asyncio.run(_read_audit(hub, _since(since), who))
    for r in records:
        if as_json:
            click.echo(json.dumps(r))
            continue
        outcome = r.get("outcome", "").removeprefix("AUDIT_OUTCOME_").lower()
        click.echo(
            f"{r.get('time', '')}  {r.get('service', ''):<10} {r.get('actor', ''):<12} "
            f"{r.get('action', ''):<18} {outcome:<8} {r.get('target', '')}  "
            f"{r.get('detail', '')}"
        )


async def _verify(hub: Hub) -> tuple[dict[str, int], list[str]]:
    counts, breaks = verify_chains([pair async for pair in _records(hub, None)])
    return counts, [str(b) for b in breaks]


@audit.command()
@hub_options
def verify(hub: Hub) -> None:
    """Check every audit chain; name the first broken record of each (exit code 1)."""
    counts, breaks = asyncio.run(_verify(hub))
    for chain, count in sorted(counts.items()):
        click.echo(f"{chain}: {count} records")
    if breaks:
        for line in breaks:
            click.echo(f"BROKEN {line}", err=True)
        raise click.ClickException(
            f"{len(breaks)} of {len(counts)} audit chains are broken: the audit stream was "
            "tampered with (see above)"
        )
    click.echo(f"{sum(counts.values())} records in {len(counts)} chains: every chain is intact")


commands = [audit]
