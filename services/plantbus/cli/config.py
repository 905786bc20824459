"""``plantbus config``: validate, diff, apply, history, show, rollback, schema."""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path
from typing import Any

import click
import yaml
from google.protobuf.message import Message

from plantbus.cli.exits import CliError, Exit
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call, max_message_bytes
from plantbus.config import PlantConfig
from plantbus.config.issues import ConfigInvalid
from plantbus.config.loader import expand_variables, load_path, read_sources
from plantbus.v1 import governance_pb2

__all__ = ["commands"]

PATH = click.Path(exists=True, path_type=Path)


def _files(path: Path) -> list[governance_pb2.ConfigFile]:
    """The files at ``path`` with ``${VAR}`` expanded here, from the caller's environment:
    governance never expands what it receives."""
    try:
        sources = [expand_variables(s, os.environ) for s in read_sources(path)]
    except ConfigInvalid as err:
        raise CliError(str(err), Exit.INVALID) from None
    return [governance_pb2.ConfigFile(name=s.name, content=s.text) for s in sources]


def _fits(request: Message) -> None:
    size, limit = request.ByteSize(), max_message_bytes()
    if size > limit:
        raise CliError(
            f"the config is {size:,} bytes, more than the gRPC message limit of {limit:,} "
            "(PLANTBUS_GRPC_MAX_MESSAGE_BYTES, here and on governance)",
            Exit.INVALID,
        )


def _report_issues(issues: Any) -> None:
    if issues:
        for issue in issues:
            where = f"{issue.file}:{issue.line}" if issue.line else issue.file
            click.echo(f"{where}: {issue.path or '<root>'}: {issue.message}", err=True)
        raise CliError(f"config is invalid ({len(issues)} errors); nothing applied", Exit.INVALID)


def _echo_diff(diff: str) -> None:
    for line in diff.splitlines():
        color = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        click.secho(line, fg=color)


@click.group()
def config() -> None:
    """The versioned plant configuration."""


@config.command()
@click.argument("path", type=PATH)
def validate(path: Path) -> None:
    """Validate config files offline (no hub needed); every error with file:line.

    ${VAR} in values is expanded from this shell's environment, as apply and diff do."""
    try:
        load_path(path)
    except ConfigInvalid as err:
        raise CliError(str(err), Exit.INVALID) from None
    click.echo(f"{path}: valid")


@config.command()
def schema() -> None:
    """Print the JSON Schema of the config, for editors."""
    click.echo(json.dumps(PlantConfig.model_json_schema(), indent=2))


@config.command()
@click.argument("path", type=PATH)
@hub_options
def diff(path: Path, hub: Hub) -> None:
    """Show what applying PATH would change."""
    request = governance_pb2.DiffConfigRequest(files=_files(path))
    _fits(request)
    reply = call(hub, "governance", "DiffConfig", request)
    _report_issues(reply.issues)
    _echo_diff(reply.diff) if reply.diff else click.echo(
        f"no change against version {reply.running_version}"
    )


@config.command()
@click.argument("path", type=PATH)
@click.option("--dry-run", is_flag=True, help="Validate and diff only.")
@click.option("-m", "--message", default="", help="What this change is for.")
@click.option(
    "--expected-version", type=int, default=0, help="Refuse unless this is the running version."
)
@hub_options
def apply(path: Path, dry_run: bool, message: str, expected_version: int, hub: Hub) -> None:
    """Validate PATH, show the diff and store it as the next version."""
    request = governance_pb2.ApplyConfigRequest(
        files=_files(path), message=message, dry_run=dry_run, expected_version=expected_version
    )
    _fits(request)
    reply = call(hub, "governance", "ApplyConfig", request)
    _report_issues(reply.issues)
    if reply.diff:
        _echo_diff(reply.diff)
    if dry_run:
        click.echo(f"dry run: valid; version {reply.previous_version} stays")
    elif reply.version:
        click.echo(f"applied version {reply.version} (was {reply.previous_version})")
    else:
        click.echo(f"no change; version {reply.previous_version} stays")


@config.command()
@json_option
@hub_options
def history(as_json: bool, hub: Hub) -> None:
    """Every stored version, newest first."""
    reply = call(hub, "governance", "ListVersions", governance_pb2.ListVersionsRequest())
    if as_json:
        echo_json(reply)
        return
    for v in reply.versions:
        mark = "*" if v.version == reply.running_version else " "
        when = v.time.ToDatetime(UTC).isoformat(timespec="seconds")
        click.echo(f"{mark} {v.version:>4}  {when}  {v.author:<12} {v.message}")


@config.command()
@click.argument("version", type=int, default=0)
@json_option
@hub_options
def show(version: int, as_json: bool, hub: Hub) -> None:
    """Print version VERSION (default: the running one) as YAML (or, with --json, its
    metadata and the parsed document)."""
    reply = call(hub, "governance", "GetConfig", governance_pb2.GetConfigRequest(version=version))
    if not reply.meta.version:
        raise CliError("no config has been applied yet", Exit.NOT_FOUND)
    if as_json:
        echo_json({"meta": reply.meta, "config": yaml.safe_load(reply.yaml)})
        return
    click.echo(f"# version {reply.meta.version} by {reply.meta.author}: {reply.meta.message}")
    click.echo(reply.yaml, nl=False)


@config.command()
@click.argument("version", type=int)
@click.option("-m", "--message", default="")
@hub_options
def rollback(version: int, message: str, hub: Hub) -> None:
    """Store version VERSION's content as the next version."""
    reply = call(
        hub,
        "governance",
        "RollbackConfig",
        governance_pb2.RollbackConfigRequest(version=version, message=message),
    )
    _echo_diff(reply.diff)
    click.echo(f"version {reply.version} restores version {version}")


commands = [config]
