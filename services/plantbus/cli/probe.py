"""``plantbus probe``: talk to one device directly through the installed driver, for commissioning.

No hub is needed: the driver is chosen by the URL scheme among the installed
``plantbus.drivers`` plugins (``Driver.schemes``) and addresses are parsed by the
driver's ``tag_from_address``. Every answer shows value, quality and round-trip time;
errors say why (refused, timeout, illegal address, bad node id) as the driver reports it.
Drivers with certificates (OPC UA) use the data dir's trust list and say which security
they used.

``--write`` bypasses the hub's write policies and audit: it asks first (or ``--yes``) and
appends every write (time, OS user, URL, address, old and new value) to
``<data_dir>/probe-writes.log``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from plantbus.cli.hub import default_data_dir
from plantbus.cli.locallog import LocalLog
from plantbus.cli.session import Answer, Probe, Request, why
from plantbus.sdk.errors import PlantbusError

__all__ = ["WRITE_LOG", "commands"]

WRITE_LOG = "probe-writes.log"
_BYPASS = (
    "WARNING: plantbus probe --write goes straight to the device. It bypasses the hub's "
    "write policies, tag limits and audit trail; use it for commissioning only, and "
    "'plantbus devices write' (policy-checked, audited) everywhere else."
)


def _assignment(text: str) -> tuple[str, str]:
    address, sep, value = text.rpartition("=")
    if not sep or not address:
        raise click.ClickException(f"--write {text!r}: use ADDRESS=VALUE")
    return address, value


def _confirm_writes(url: str, requests: Sequence[Request], yes: bool, log: LocalLog) -> None:
    """Say loudly what --write bypasses, ask (unless --yes), and make sure it can be logged."""
    writes = [r for r in requests if r.value is not None]
    if not writes:
        return
    click.secho(_BYPASS, fg="red", bold=True, err=True)
    for r in writes:
        click.echo(f"  {r.address} = {r.value!r}", err=True)
    log.open()
    if not yes:
        click.confirm(f"Write {len(writes)} value(s) to {url}?", abort=True, err=True)
    click.echo(f"logged to {log.path}", err=True)


async def _probe(
    probe: Probe, requests: Sequence[Request], browse: str | None, log: LocalLog
) -> tuple[list[Answer], list[dict[str, Any]]]:
    try:
        await probe.call(probe.driver.connect())
    except (TimeoutError, PlantbusError) as err:
        reason = why(err, probe.timeout_s)
        if not requests:
            raise click.ClickException(f"{probe.url}: {reason}") from None
        return [Answer(r.address, error=r.error or reason) for r in requests], []
    try:
        if security := probe.security():
            click.echo(f"{probe.url}: security {security}", err=True)
        answers = [await probe.run(r, log) for r in requests]
        nodes = await probe.browse(browse) if browse is not None else []
    finally:
        await probe.call(probe.driver.close())
    return answers, nodes


@click.command()
@click.argument("url")
@click.option("--read", "reads", multiple=True, metavar="ADDRESS", help="Read an address.")
@click.option("--write", "writes", multiple=True, metavar="ADDRESS=VALUE", help="Write, read back.")
@click.option(
    "--browse", is_flag=False, flag_value="", default=None, metavar="[NODE]", help="List nodes."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per address.")
@click.option("--timeout", "timeout_s", default=5.0, show_default=True, help="Seconds per call.")
@click.option(
    "--security",
    metavar="none|auto|POLICY",
    help="OPC UA: auto (default, the strongest the server offers), none, "
    "Aes256_Sha256_RsaPss or Basic256Sha256.",
)
@click.option("--yes", is_flag=True, help="Write without asking.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PLANTBUS_DATA_DIR",
    help="Data dir: trust list, certificates, probe-writes.log (default: per-user).",
)
def probe(
    url: str,
    reads: tuple[str, ...],
    writes: tuple[str, ...],
    browse: str | None,
    as_json: bool,
    timeout_s: float,
    security: str | None,
    yes: bool,
    data_dir: Path | None,
) -> None:
    """Read, write or browse a device directly: URL --read ADDRESS, --write ADDRESS=VALUE.

    Writes go straight to the device, past the hub's policies and audit, for commissioning
    only: probe asks first (--yes does not) and logs each one to <data_dir>/probe-writes.log.
    """
    if not (reads or writes or browse is not None):
        raise click.UsageError("give --read, --write or --browse")
    data_dir = data_dir or default_data_dir()
    session = Probe(url, timeout_s, security, data_dir)
    requests = [session.plan(*_assignment(w)) for w in writes] + [session.plan(r) for r in reads]
    log = LocalLog(data_dir / WRITE_LOG)
    _confirm_writes(url, requests, yes, log)
    answers, nodes = asyncio.run(_probe(session, requests, browse, log))
    for answer in answers:
        click.echo(json.dumps(answer.as_dict()) if as_json else answer.line())
    for node in nodes:
        if as_json:
            click.echo(json.dumps(node))
        else:
            marker = "+" if node["children"] else " "
            click.echo(f"{marker} {node['address']}  {node['name']}  {node['data_type']}".rstrip())
    if any(a.error and a.value is None for a in answers):
        sys.exit(1)  # click's Exit is swallowed outside standalone mode


commands = [probe]
