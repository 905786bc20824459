"""``plantbus users token create|revoke|list``: bearer tokens for configured users.

Governance issues them (permission ``users.manage``; the local operator has it) and keeps
only their SHA-256; the token itself is printed once, by ``create``.
"""

from __future__ import annotations

from datetime import UTC

import click
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.cli import durations
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.v1 import governance_pb2

__all__ = ["commands"]


def _when(ts: Timestamp) -> str:
    return ts.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _line(t: governance_pb2.TokenInfo) -> str:
    state = f"revoked {_when(t.revoked)} by {t.revoked_by}" if t.HasField("revoked") else "active"
    return f"{t.id}  {t.user:<16} expires {_when(t.expires)}  {state}"


@click.group()
def users() -> None:
    """Users' credentials for the hub's gRPC services."""


@users.group()
def token() -> None:
    """Bearer tokens (PLANTBUS_TOKEN for the CLI, authorization: Bearer for gRPC)."""


@token.command()
@click.argument("user")
@click.option("--expires", default="90d", show_default=True, help="Lifetime: 30d, 12h, 45m, 90s.")
@hub_options
def create(user: str, expires: str, hub: Hub) -> None:
    """A new token for USER (one of the plant config's users), printed once."""
    lifetime = durations.seconds(expires)
    if not lifetime:
        raise click.BadParameter(f"{expires!r}: use 30d, 12h, 45m or 90s", param_hint="--expires")
    request = governance_pb2.CreateTokenRequest(user=user, expires_seconds=lifetime)
    reply = call(hub, "governance", "CreateToken", request)
    click.echo(reply.token)
    click.echo(
        f"token {reply.info.id} for {user}, expires {_when(reply.info.expires)}; shown only "
        "now: give it to the user (PLANTBUS_TOKEN=...)",
        err=True,
    )


@token.command()
@click.argument("token_id")
@hub_options
def revoke(token_id: str, hub: Hub) -> None:
    """Refuse token TOKEN_ID (its id, from 'plantbus users token list') from now on."""
    reply = call(hub, "governance", "RevokeToken", governance_pb2.RevokeTokenRequest(id=token_id))
    click.echo(_line(reply.info))


@token.command("list")
@json_option
@hub_options
def list_tokens(as_json: bool, hub: Hub) -> None:
    """Every token issued: id, user, expiry, and whether it was revoked."""
    reply = call(hub, "governance", "ListTokens", governance_pb2.ListTokensRequest())
    if as_json:
        echo_json(reply)
        return
    for t in reply.tokens:
        click.echo(_line(t))
    if not reply.tokens:
        click.echo("no tokens")


commands = [users]
