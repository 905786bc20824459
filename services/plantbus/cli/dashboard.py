"""``plantbus dashboard login``: a fresh one-time login link from the running dashboard.

The link is minted by the dashboard itself (``POST /api/login-links``, only from its own
host) for whoever shows the dashboard's token: ``plantbus up`` keeps it in
``<data dir>/dashboard-token``, readable by the local operator only, for as long as the hub
runs; in a pod it is ``PLANTBUS_DASHBOARD_TOKEN``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from pathlib import Path

import click

from plantbus.cli.exits import CliError, Exit
from plantbus.cli.hub import Hub, hub_options
from plantbus.sdk.errors import describe

__all__ = ["TOKEN_FILE", "commands", "login_link", "remove_token", "write_token"]

TOKEN_FILE = "dashboard-token"


def write_token(data_dir: Path, token: str) -> Path:
    """``<data dir>/dashboard-token`` with mode 0600 from its creation (never readable by
    others, not even for a moment); a file left by a hub that crashed is replaced."""
    path = data_dir / TOKEN_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return path


def remove_token(data_dir: Path) -> None:
    """Remove the token file (the hub stops)."""
    (data_dir / TOKEN_FILE).unlink(missing_ok=True)


async def login_link(url: str, token: str, cafile: Path | None = None) -> dict[str, object]:
    """Ask the dashboard at ``url`` for a new login link: ``{"url", "user", "expires_in_s"}``."""
    import aiohttp  # here, not at the top: every ``plantbus run`` process imports the CLI

    tls = ssl.create_default_context(cafile=cafile) if cafile else True
    endpoint = url.rstrip("/") + "/api/login-links"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.post(endpoint, headers=headers, ssl=tls) as reply,
        ):
            body = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        raise CliError(
            f"cannot get a login link from the dashboard at {url}: {describe(err)}; "
            "is the hub running (plantbus status)?",
            Exit.UNREACHABLE,
        ) from err
    if reply.status != 201:
        raise CliError(
            f"the dashboard at {url} refused a login link: {body.get('error')}", Exit.REFUSED
        )
    return dict(body)


def _token(hub: Hub) -> str:
    with contextlib.suppress(FileNotFoundError):
        return (hub.data_dir / TOKEN_FILE).read_text().strip()
    if env := os.environ.get("PLANTBUS_DASHBOARD_TOKEN"):
        return env
    raise CliError(
        f"no dashboard token: {hub.data_dir / TOKEN_FILE} is missing (is the hub running from "
        "this data dir?) and PLANTBUS_DASHBOARD_TOKEN is not set",
        Exit.REFUSED,
    )


@click.group()
def dashboard() -> None:
    """The shared dashboard page."""


@dashboard.command()
@click.option("--url", help="The dashboard's address (default: from the hub's runtime.json).")
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA certificate that signed the dashboard's certificate (HTTPS).",
)
@hub_options
def login(url: str | None, cafile: Path | None, hub: Hub) -> None:
    """Print a new one-time login link for the dashboard (valid once, for a few minutes)."""
    address = url or hub.runtime.get("dashboard")
    if not address:
        raise CliError(
            f"no running dashboard found in {hub.data_dir} (runtime.json); start the hub with "
            "'plantbus up', or pass --url",
            Exit.UNREACHABLE,
        )
    link = asyncio.run(login_link(str(address), _token(hub), cafile))
    click.echo(str(link["url"]))
    minutes = float(str(link["expires_in_s"])) / 60
    click.echo(f"signs in as {link['user']}; valid once, for {minutes:g} min", err=True)


commands = [dashboard]
