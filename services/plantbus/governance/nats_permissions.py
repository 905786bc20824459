"""Least-privilege NATS permissions per service, derived from the subject scheme, and a
nats-server configuration with one user per service.

JetStream's API is granted as ``$JS.API.>``: the finer split (per stream and consumer)
changes between server versions and would break streams the services create themselves;
data subjects, KV buckets and audit are narrowed per service.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from plantbus.kit.subjects import PREFIX

__all__ = ["SERVICE_PERMISSIONS", "Permissions", "nats_server_config"]

_KV = "$KV"


@dataclass(frozen=True)
class Permissions:
    """Subjects a user may publish to and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...] = field(default_factory=tuple)


def _service(
    name: str, publish: tuple[str, ...], subscribe: tuple[str, ...], buckets: tuple[str, ...] = ()
) -> Permissions:
    common_pub = (
        f"{PREFIX}.svc.{name}.>",
        f"{PREFIX}.audit.{name}",
        "$JS.API.>",
        f"{_KV}.plantbus_services.>",
    )
    common_sub = ("_INBOX.>", f"{_KV}.plantbus_config.>")
    kv = tuple(f"{_KV}.{b}.>" for b in buckets)
    return Permissions(publish=common_pub + publish + kv, subscribe=common_sub + subscribe + kv)


SERVICE_PERMISSIONS: dict[str, Permissions] = {
    "governance": _service("governance", (), (), buckets=("plantbus_config",)),
    "device": _service("device", (f"{PREFIX}.telemetry.>",), ()),
    "oee": _service(
        "oee",
        (f"{PREFIX}.oee.>", f"{PREFIX}.downtime.>"),
        (f"{PREFIX}.telemetry.>", f"{PREFIX}.erp.workorder.>"),
        buckets=("plantbus_oee",),
    ),
    "alerting": _service(
        "alerting",
        (f"{PREFIX}.alarm.>",),
        (f"{PREFIX}.telemetry.>", f"{PREFIX}.oee.>"),
        buckets=("plantbus_alarms",),
    ),
    "erp": _service("erp", (f"{PREFIX}.erp.>",), (f"{PREFIX}.oee.>",), buckets=("plantbus_erp",)),
    "dashboard": _service(
        "dashboard",
        (),
        tuple(f"{PREFIX}.{f}.>" for f in ("telemetry", "oee", "downtime", "alarm", "erp", "svc")),
    ),
    # the command line: reads everything, changes nothing but through gRPC
    "cli": Permissions(
        publish=("$JS.API.>", "_INBOX.>"), subscribe=(f"{PREFIX}.>", "_INBOX.>", f"{_KV}.>")
    ),
}


def nats_server_config(
    store_dir: str, port: int = 4222, tls: dict[str, object] | None = None
) -> tuple[str, dict[str, str]]:
    """A nats-server config (JSON is valid nats config) and the generated passwords."""
    passwords = {name: secrets.token_urlsafe(24) for name in SERVICE_PERMISSIONS}
    users = [
        {
            "user": name,
            "password": passwords[name],
            "permissions": {
                "publish": {"allow": list(perms.publish)},
                "subscribe": {"allow": list(perms.subscribe)},
            },
        }
        for name, perms in SERVICE_PERMISSIONS.items()
    ]
    config: dict[str, object] = {
        "port": port,
        "jetstream": {"store_dir": store_dir},
        "accounts": {"PLANTBUS": {"jetstream": "enabled", "users": users}},
    }
    if tls:
        config["tls"] = tls
    return json.dumps(config, indent=2), passwords
