"""``plantbus maintenance``: usage counters, plans, condition indicators; record work done."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from google.protobuf.message import Message

from plantbus.cli.alarms import user_option
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.config import PlantConfig
from plantbus.config.loader import load_sources, read_sources
from plantbus.maintenance.backtest import Result
from plantbus.v1 import maintenance_pb2

__all__ = ["commands", "proposal_line", "status_lines", "table"]

M = TypeVar("M", bound=Message)


def _usage_line(u: maintenance_pb2.ComponentUsage) -> str:
    return (
        f"{u.machine}  {u.component}: {u.running_hours:.1f} h running, {u.cycles} cycles, "
        f"{u.starts} starts, {u.stops} stops since {u.since.ToDatetime().date().isoformat()}"
        + (f" (last: {u.last_note!r} by {u.last_by})" if u.last_note else "")
    )


def _window_line(w: maintenance_pb2.ConditionWindow) -> str:
    score = f"score {w.score:.1f}/{w.threshold:g}" if w.HasField("score") else "learning"
    return (
        f"{w.tag} ({w.state}, {w.count} samples): mean {w.mean:.4g} rms {w.rms:.4g} "
        f"std {w.std:.3g} peak {w.peak:.4g} slope {w.slope:+.3g}/h, {score}"
    )


def status_lines(reply: maintenance_pb2.GetMaintenanceStatusResponse) -> list[str]:
    """The status as the CLI prints it: counters, plans, latest windows."""
    lines = [_usage_line(u) for u in reply.usage]
    lines += [f"[{p.level}] {p.plan}: {p.message}" for p in reply.plans]
    lines += [_window_line(w) for w in reply.windows]
    return lines


def _show(reply: M, as_json: bool, lines: Callable[[M], list[str]]) -> None:
    """``reply`` as JSON, or as the lines that ``lines`` makes of it."""
    if as_json:
        echo_json(reply)
        return
    for line in lines(reply):
        click.echo(line)


@click.group()
def maintenance() -> None:
    """Usage counters, maintenance plans, condition monitoring (the maintenance service)."""


@maintenance.command()
@click.argument("machine", default="")
@json_option
@hub_options
def status(machine: str, as_json: bool, hub: Hub) -> None:
    """Counters, plans and the latest condition windows of MACHINE (site/area/line/machine;
    every machine without it)."""
    request = maintenance_pb2.GetMaintenanceStatusRequest(machine=machine)
    reply = call(hub, "maintenance", "GetMaintenanceStatus", request)
    _show(reply, as_json, status_lines)


@maintenance.command()
@click.argument("machine")
@click.argument("component", default="machine")
@click.option("-m", "--message", "note", required=True, help="What was done (audited).")
@user_option
@hub_options
def done(machine: str, component: str, note: str, user: str | None, hub: Hub) -> None:
    """Record maintenance of COMPONENT of MACHINE (default: the machine itself): its
    counters restart from zero, and so do the baselines and trends of its condition plans."""
    request = maintenance_pb2.RecordMaintenanceRequest(
        machine=machine, component=component, note=note
    )
    before = call(hub, "maintenance", "RecordMaintenance", request, user=user).before
    click.echo(f"recorded: {note}; counters before the reset:")
    click.echo(_usage_line(before))


_STATES = {
    maintenance_pb2.PROPOSAL_STATE_PENDING: "pending",
    maintenance_pb2.PROPOSAL_STATE_APPLIED: "applied",
    maintenance_pb2.PROPOSAL_STATE_REJECTED: "rejected",
}


def proposal_line(p: maintenance_pb2.Proposal) -> str:
    """One proposal as the CLI prints it."""
    decided = f" by {p.decided_by}: {p.note}" if p.decided_by else ""
    return f"{p.id}  [{_STATES.get(p.state, '?')}] {p.tag} = {p.value:g}  ({p.reason}){decided}"


@maintenance.command()
@click.option("--pending", is_flag=True, help="Only those waiting for a decision.")
@json_option
@hub_options
def proposals(pending: bool, as_json: bool, hub: Hub) -> None:
    """Setpoint changes that maintenance plans proposed, newest first."""
    request = maintenance_pb2.ListProposalsRequest(pending_only=pending)
    reply = call(hub, "maintenance", "ListProposals", request)
    _show(reply, as_json, lambda r: [proposal_line(p) for p in r.proposals])


@maintenance.command()
@click.argument("proposal_id", metavar="ID")
@user_option
@hub_options
def approve(proposal_id: str, user: str | None, hub: Hub) -> None:
    """Approve proposal ID: its value is written as you (--user), so your write policy
    decides; audited."""
    request = maintenance_pb2.ApproveProposalRequest(id=proposal_id)
    reply = call(hub, "maintenance", "ApproveProposal", request, user=user)
    click.echo(proposal_line(reply.proposal))


@maintenance.command()
@click.argument("proposal_id", metavar="ID")
@click.option("-m", "--message", "reason", required=True, help="Why not (audited).")
@user_option
@hub_options
def reject(proposal_id: str, reason: str, user: str | None, hub: Hub) -> None:
    """Reject proposal ID without writing; audited with the reason."""
    request = maintenance_pb2.RejectProposalRequest(id=proposal_id, reason=reason)
    reply = call(hub, "maintenance", "RejectProposal", request, user=user)
    click.echo(proposal_line(reply.proposal))


def _config(config_dir: Path, section: Path | None) -> PlantConfig:
    """The plant config, its maintenance section replaced by ``section``'s when given."""
    sources = read_sources(config_dir)
    if section is not None:
        sources = [s for s in sources if Path(s.name).name != "maintenance.yaml"]
        sources += read_sources(section)
    return load_sources(sources, environ=os.environ)


def _hours(lead: float | None) -> str:
    return "missed" if lead is None else f"{lead:.1f} h"


def table(result: Result) -> list[str]:
    """The backtest as a Markdown table (what docs/maintenance.md shows)."""
    names = [
        f"lead, {f.machine.rsplit('/', 1)[-1]} {f.component} failure {i + 1}"
        for i, f in enumerate(result.failures)
    ]
    header = ["detector", *names, "false warnings per machine-week"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.rows:
        cells = [row.detector, *(_hours(lead) for lead in row.leads_h)]
        cells.append(f"{row.false_per_machine_week:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@maintenance.command()
@click.argument("export", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ground truth JSON: failures (machine, component, time, replaced), start, end.",
)
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path),
    help="Plant config (default: the demo plant).",
)
@click.option(
    "--maintenance",
    "section",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A YAML file whose maintenance section replaces the config's.",
)
@click.option(
    "--simulate",
    type=float,
    metavar="DAYS",
    help="Replay DAYS of the simulated line (with its ground truth) instead of EXPORT.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--no-reference", is_flag=True, help="Leave out the IsolationForest peer.")
def backtest(
    export: Path | None,
    truth: Path | None,
    config_dir: Path | None,
    section: Path | None,
    simulate: float | None,
    seed: int,
    no_reference: bool,
) -> None:
    """Replay a historian export (``plantbus history export``) through the maintenance
    engine: per failure of the ground truth, the lead time of the first warning; false
    warnings per machine-week on the machines without failures; beside scikit-learn's
    IsolationForest on the same windows (``pip install scikit-learn``)."""
    from plantbus import sim
    from plantbus.kit.truth import read_truth
    from plantbus.maintenance import backtest as bt
    from plantbus.maintenance.service import robust_model

    config = _config(config_dir or sim.demo_plant(), section)
    if simulate is not None:
        from plantbus.sim.history import simulate as run_sim

        samples, failures, span = run_sim(simulate, seed=seed)
        rows: list[tuple[str, float, object]] = list(samples)
    elif export is not None and truth is not None:
        rows = bt.read_export(export)
        failures, span = read_truth(truth)
    else:
        raise click.UsageError("give EXPORT and --truth, or --simulate DAYS")
    result = bt.backtest(config, rows, failures, span, robust_model, not no_reference)
    click.echo(f"{result.samples:,} samples, {result.windows:,} windows, {len(failures)} failures")
    for line in table(result):
        click.echo(line)
    if not no_reference and len(result.rows) < 3:
        click.echo("reference detector left out: pip install scikit-learn", err=True)


commands = [maintenance]
