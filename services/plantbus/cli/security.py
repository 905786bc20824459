"""``plantbus security nats-config``: a nats-server configuration with a user per service."""

from __future__ import annotations

from pathlib import Path

import click

from plantbus.governance.nats_permissions import nats_server_config

__all__ = ["commands"]


@click.group()
def security() -> None:
    """Security helpers (see docs/security.md)."""


@security.command("nats-config")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the nats-server configuration.",
)
@click.option("--store-dir", default="/data/jetstream", show_default=True)
@click.option("--port", type=int, default=4222, show_default=True)
@click.option("--tls-cert", help="Server certificate file (enables TLS).")
@click.option("--tls-key", help="Server key file.")
@click.option("--tls-ca", help="CA of client certificates (enables verification).")
def nats_config(
    out: Path,
    store_dir: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    tls_ca: str | None,
) -> None:
    """Write a nats-server config with least-privilege users, and one env file per service."""
    tls: dict[str, object] | None = None
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise click.BadParameter("give both --tls-cert and --tls-key")
        tls = {"cert_file": tls_cert, "key_file": tls_key}
        if tls_ca:
            tls |= {"ca_file": tls_ca, "verify": True}
    text, passwords = nats_server_config(store_dir, port, tls)
    out.write_text(text)
    out.chmod(0o600)
    for name, password in passwords.items():
        env = out.with_name(f"plantbus-{name}.env")
        env.write_text(f"PLANTBUS_NATS_USER={name}\nPLANTBUS_NATS_PASSWORD={password}\n")
        env.chmod(0o600)
    click.echo(
        f"wrote {out} and {len(passwords)} env files (plantbus-<service>.env) next to "
        "it; they hold secrets: keep them out of version control"
    )


commands = [security]
