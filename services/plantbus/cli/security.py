"""``plantbus security``: ``nats-config`` (the nats-server configuration ``plantbus up``
runs, with a least-privilege user per service, :mod:`plantbus.kit.natsauth`, for a server of
your own or Kubernetes), ``signing-key`` and ``certs`` (the hub's CA and a certificate per
service, for Kubernetes without cert-manager)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from plantbus.cli.options import mqtt_port_option, out_option
from plantbus.kit import natsauth, natsconfig, pki
from plantbus.kit.registry import SERVICES
from plantbus.kit.signing import ensure_signing_key

__all__ = ["commands"]


@click.group()
def security() -> None:
    """Security helpers (see docs/security.md)."""


@security.command("nats-config")
@out_option("Where to write the nats-server configuration.")
@click.option("--store-dir", default="/data/jetstream", show_default=True)
@click.option("--port", type=int, default=4222, show_default=True)
@mqtt_port_option("Port of the server's MQTT listener (docs/mqtt.md); 0 turns it off.")
@click.option("--tls-cert", help="Server certificate file (enables TLS).")
@click.option("--tls-key", help="Server key file.")
@click.option("--tls-ca", help="CA of client certificates (enables verification).")
@click.option(
    "--password-env",
    is_flag=True,
    help="Name each password by an environment variable of the server (PLANTBUS_NATS_PASSWORD_"
    "<USER>, from a Kubernetes Secret) instead of writing password files.",
)
def nats_config(
    out: Path,
    store_dir: str,
    port: int,
    mqtt_port: int,
    tls_cert: str | None,
    tls_key: str | None,
    tls_ca: str | None,
    password_env: bool,
) -> None:
    """Write a nats-server config with least-privilege users (bcrypt hashes, no passwords)
    and each user's password in <user>.password next to it (mode 0600)."""
    tls: dict[str, object] | None = None
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise click.BadParameter("give both --tls-cert and --tls-key")
        tls = {"cert_file": tls_cert, "key_file": tls_key}
        if tls_ca:
            tls |= {"ca_file": tls_ca, "verify": True}
    users = natsauth.grants()
    passwords = None if password_env else natsconfig.user_passwords(out.parent, users)
    natsconfig.write_config(
        out,
        natsconfig.server_config(
            users, passwords, store_dir, port=port, tls=tls, mqtt_port=mqtt_port or None
        ),
    )
    if passwords is None:
        click.echo(
            f"wrote {out}; the server reads each user's password from its environment "
            f"({natsconfig.password_variable('device')} and so on, for {', '.join(users)})"
        )
        return
    click.echo(
        f"wrote {out} and {len(passwords)} password files (<user>.password) next to it, for "
        f"users {', '.join(users)}; an existing password file is kept. They are secrets: keep "
        "them out of version control; give each service only its own "
        "(PLANTBUS_NATS_USER, PLANTBUS_NATS_PASSWORD_FILE)"
    )


@security.command("signing-key")
@out_option(
    "Directory for config-signing.key (0600, governance's alone) and config-signing.pub.",
    directory=True,
)
def signing_key(out: Path) -> None:
    """Create governance's config signing key pair (kept when it exists)."""
    private, public = ensure_signing_key(out)
    click.echo(
        f"{private} (governance only: PLANTBUS_CONFIG_SIGNING_KEY) and {public} (every "
        "service: PLANTBUS_CONFIG_PUBKEY)"
    )


def service_hosts(service: str, namespace: str) -> list[str]:
    """The names a service is called by in the cluster (its Service), and through
    ``kubectl port-forward`` (localhost)."""
    name = f"plantbus-{service}"
    return [
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
        "localhost",
        "127.0.0.1",
    ]


_SECRETS_HEADER = """\
# Written by `plantbus security certs`: the Secret plantbus-<service>-tls that each Plantbus
# Deployment mounts at /etc/plantbus/tls. It holds private keys: keep it out of version
# control. Apply with `kubectl apply -k <this directory>`; run the command again to renew.
"""


def _secrets_kustomization(namespace: str) -> str:
    generators = [
        {
            "name": f"plantbus-{name}-tls",
            "type": "kubernetes.io/tls",
            "files": [f"tls.crt={name}/tls.crt", f"tls.key={name}/tls.key", "ca.crt=ca.crt"],
        }
        for name in SERVICES
    ]
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        # fixed names: the Deployments mount them, and a renewal replaces the files in place
        "generatorOptions": {
            "disableNameSuffixHash": True,
            "labels": {"app.kubernetes.io/part-of": "plantbus"},
        },
        "secretGenerator": generators,
    }
    return _SECRETS_HEADER + yaml.safe_dump(body, sort_keys=False)


@security.command("certs")
@out_option(
    "Directory for the CA, the certificates and secrets/ (run again on it to renew).",
    directory=True,
)
@click.option("--namespace", default="plantbus", show_default=True, help="The hub's namespace.")
@click.option(
    "--days",
    type=click.IntRange(1, 825),
    default=365,
    show_default=True,
    help="How long each service certificate lasts.",
)
def certs(out: Path, namespace: str, days: int) -> None:
    """Write a CA, a certificate per service and a kustomize-ready secrets/ (Kubernetes
    without cert-manager; see docs/deploy.md)."""
    hub, done = pki.ensure(out, [])  # the CA (kept), the operator's certificate, signing key
    secrets = out / "secrets"
    for name in SERVICES:
        files = pki.LeafFiles(secrets / name / "tls.crt", secrets / name / "tls.key")
        pki.issue(hub, files, "service", name, days=days, hosts=service_hosts(name, namespace))
    (secrets / "ca.crt").write_bytes(hub.ca_cert.read_bytes())
    (secrets / "kustomization.yaml").write_text(_secrets_kustomization(namespace))
    for line in done:
        click.echo(line)
    click.echo(
        f"issued {len(SERVICES)} service certificates for namespace {namespace!r}, valid "
        f"{days} days; apply them with `kubectl apply -k {secrets}`. {out} holds the CA's "
        f"key and the operator's client certificate ({hub.operator.cert}): keep it private"
    )


commands = [security]
