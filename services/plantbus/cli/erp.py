"""``plantbus erp``: work orders, start, complete, sync status, dead letters, retry."""

from __future__ import annotations

import click

from plantbus.cli.exits import CliError, Exit
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.v1 import erp_pb2

__all__ = ["commands"]


def _line(o: erp_pb2.WorkOrderEvent) -> str:
    """One order: its id (what start/complete take), the ERP's number when it differs."""
    label = o.erp_id if o.number in ("", o.erp_id) else f"{o.erp_id} ({o.number})"
    return (
        f"{label:<24} {o.status:<10} {o.product_code:<12} "
        f"{o.good_quantity:>6g}/{o.quantity:<6g} {o.machine}"
    )


@click.group()
def erp() -> None:
    """ERP sync: work orders in, confirmations out."""


@erp.command()
@click.option("--status", default="", help="Only orders in this status.")
@json_option
@hub_options
def orders(status: str, as_json: bool, hub: Hub) -> None:
    """Work orders known to the hub."""
    reply = call(hub, "erp", "ListWorkOrders", erp_pb2.ListWorkOrdersRequest(status=status))
    if as_json:
        echo_json(reply)
        return
    for o in reply.work_orders:
        click.echo(_line(o))
    if not reply.work_orders:
        click.echo("no work orders")


@erp.command()
@click.argument("erp_id")
@click.argument("machine")
@hub_options
def start(erp_id: str, machine: str, hub: Hub) -> None:
    """Start ERP_ID on MACHINE (site/area/line/machine)."""
    reply = call(
        hub, "erp", "StartWorkOrder", erp_pb2.StartWorkOrderRequest(erp_id=erp_id, machine=machine)
    )
    click.echo(_line(reply.work_order))


@erp.command()
@click.argument("erp_id")
@hub_options
def complete(erp_id: str, hub: Hub) -> None:
    """Complete ERP_ID: final confirmation to the ERP."""
    reply = call(hub, "erp", "CompleteWorkOrder", erp_pb2.CompleteWorkOrderRequest(erp_id=erp_id))
    click.echo(_line(reply.work_order))


@erp.command()
@json_option
@hub_options
def status(as_json: bool, hub: Hub) -> None:
    """Each ERP connection: reachable, outbox, sent, dead letters, last error."""
    reply = call(hub, "erp", "SyncStatus", erp_pb2.SyncStatusRequest())
    if as_json:
        echo_json(reply)
        return
    for c in reply.connections:
        state = "reachable" if c.reachable else "UNREACHABLE"
        click.echo(
            f"{c.name:<16} {c.connector:<8} {state:<12} pending {c.pending:<5} "
            f"sent {c.sent:<5} dead {c.dead_letters:<4} {c.last_error}"
        )


@erp.command("dead-letters")
@json_option
@hub_options
def dead_letters(as_json: bool, hub: Hub) -> None:
    """Confirmations the ERP rejected, with its message."""
    reply = call(hub, "erp", "ListDeadLetters", erp_pb2.ListDeadLettersRequest())
    if as_json:
        echo_json(reply)
        return
    for d in reply.dead_letters:
        click.echo(f"{d.confirmation.idempotency_key:<24} {d.error}")
    if not reply.dead_letters:
        click.echo("no dead letters")


@erp.command()
@click.argument("idempotency_key")
@hub_options
def retry(idempotency_key: str, hub: Hub) -> None:
    """Send a dead letter again (after fixing the cause in the ERP)."""
    reply = call(hub, "erp", "Retry", erp_pb2.RetryRequest(idempotency_key=idempotency_key))
    if not reply.queued:
        raise CliError(f"no dead letter {idempotency_key!r}", Exit.NOT_FOUND)
    click.echo(f"{idempotency_key} queued again")


commands = [erp]
