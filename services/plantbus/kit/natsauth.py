"""The hub's NATS users and what each may do, and the nats-server configuration that
enforces it: used by ``plantbus up`` (the embedded server) and by ``plantbus security
nats-config`` (a server of your own, Kubernetes).

Least privilege, derived from the subject scheme (:mod:`plantbus.kit.subjects`) and the
streams and buckets (:mod:`plantbus.kit.streams`):

- each service publishes only its own subjects, its heartbeat and audit under its own
  name (subject and ``plantbus_services`` key), and writes only its own KV bucket; only
  governance writes ``plantbus_config`` and ``plantbus_tokens`` (which every service reads);
- the JetStream API is narrowed per stream and bucket: reading (stream info, consumers,
  direct get) where a service reads; creating where it may be first to need a stream or
  bucket; updating only a stream the service owns; nobody deletes or purges anything, and
  nobody updates the audit stream (created with deny-delete and deny-purge);
- ``operator`` (the CLI of the local operator) reads everything but the ERP outbox and
  changes nothing; ``it-reader`` (IT subscribers) reads plant data only; ``mqtt-reader``
  (dashboards and flows on MQTT) reads the JSON namespace ``uns.>`` only; ``mqtt-writer``
  reads it too and publishes write requests below ``uns._set.mqtt-writer`` only, so the
  uns service knows from the subject who asked (the plant user it acts as is config);
- MQTT clients (the server's MQTT listener, docs/mqtt.md) are these same users with these
  same permissions, and no one is anonymous; an MQTT ``a/#`` is the subjects ``a`` and
  ``a.>``, so every tree a reader may read is granted with its root;
- every user gets replies on an inbox of its own (``_INBOX_<user>``), so no one can read
  another's replies.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import bcrypt

from plantbus.config.uns import ROOT as UNS_ROOT
from plantbus.config.uns import WRITES as UNS_WRITES
from plantbus.kit import streams
from plantbus.kit.bus import inbox_prefix
from plantbus.kit.streams import BucketSpec, StreamSpec
from plantbus.kit.subjects import PREFIX

__all__ = [
    "IT_READER",
    "MQTT_PORT",
    "MQTT_READER",
    "MQTT_WRITER",
    "OPERATOR",
    "PROVISIONER",
    "SERVICE_USERS",
    "Grant",
    "chart_values",
    "credentials_dir",
    "grants",
    "inbox_prefix",
    "password_file",
    "password_variable",
    "server_config",
    "user_passwords",
    "write_config",
    "write_requests",
]

OPERATOR: Final = "operator"
"""The local operator's CLI (``plantbus status``, ``tail``, ``audit``)."""
IT_READER: Final = "it-reader"
"""Read-only access for IT subscribers (docs/subscribing.md)."""
MQTT_READER: Final = "mqtt-reader"
"""Read-only access to the JSON namespace, for MQTT dashboards and flows (docs/mqtt.md)."""
MQTT_WRITER: Final = "mqtt-writer"
"""Reads the JSON namespace and asks for writes on its own tree of it (docs/mqtt.md)."""
MQTT_PORT: Final = 1883
"""The MQTT listener's port where none is given."""
SERVER_NAME: Final = "plantbus"
"""The server's name, which its MQTT listener requires (a cluster's chart names each node)."""
PROVISIONER: Final = "plantbus-up"
"""``plantbus up`` itself: creates and updates streams before services start. Its password
lives only in the memory of ``plantbus up`` (the server config holds a bcrypt hash)."""

_API: Final = "$JS.API"


@dataclass(frozen=True)
class Grant:
    """Subjects a user may publish to and subscribe to."""

    publish: frozenset[str] = field(default_factory=frozenset)
    subscribe: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Grant) -> Grant:
        return Grant(self.publish | other.publish, self.subscribe | other.subscribe)

    def permissions(self) -> dict[str, Any]:
        """The nats-server ``permissions`` block (an empty allow list would allow all: a
        user that may publish nothing is denied everything instead)."""
        return {
            "publish": {"allow": sorted(self.publish)} if self.publish else {"deny": [">"]},
            "subscribe": {"allow": sorted(self.subscribe)},
        }


def _pub(*subjects: str) -> Grant:
    return Grant(publish=frozenset(subjects))


def _sub(*subjects: str) -> Grant:
    return Grant(subscribe=frozenset(subjects))


def _family(*names: str) -> tuple[str, ...]:
    return tuple(f"{PREFIX}.{name}.>" for name in names)


def _trees(*subjects: str) -> Grant:
    """Subscribe to each ``<root>.>`` and to its root: what an MQTT ``<root>/#`` asks for."""
    return _sub(*subjects, *(s.removesuffix(".>") for s in subjects))


JSON_NAMESPACE: Final = f"{UNS_ROOT}.>"
"""The subjects of the JSON namespace (MQTT ``uns/#``), published by the uns service."""
_TAG: Final = ".*.*.*.*.*"
"""A tag path's five tokens: site, area, line, machine, tag."""


def write_requests(user: str) -> str:
    """The subjects ``user`` may publish write requests on (``*``: every MQTT writer)."""
    return UNS_WRITES.replace("/", ".") + f".{user}{_TAG}"


def _read(stream: str) -> Grant:
    """Stream info, consumers (ordered, ephemeral, durable), direct and message get, acks."""
    return _pub(
        f"{_API}.STREAM.NAMES",
        f"{_API}.STREAM.INFO.{stream}",
        f"{_API}.STREAM.MSG.GET.{stream}",
        f"{_API}.DIRECT.GET.{stream}",
        f"{_API}.DIRECT.GET.{stream}.>",
        f"{_API}.CONSUMER.CREATE.{stream}",
        f"{_API}.CONSUMER.CREATE.{stream}.>",
        f"{_API}.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"{_API}.CONSUMER.INFO.{stream}.>",
        f"{_API}.CONSUMER.DELETE.{stream}.>",
        f"{_API}.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


def _create(stream: str) -> Grant:
    """Create the stream when it is missing (an existing one is never changed by create)."""
    return _pub(f"{_API}.STREAM.CREATE.{stream}")


def _uses(spec: StreamSpec) -> Grant:
    return _read(spec.name) | _create(spec.name)


def _owns(spec: StreamSpec) -> Grant:
    """Publish into the stream and bring its definition up to date."""
    return (
        _uses(spec) | _pub(*(s for s in spec.subjects)) | _pub(f"{_API}.STREAM.UPDATE.{spec.name}")
    )


def _bucket(spec: BucketSpec, writes: str = "") -> Grant:
    """Read ``spec`` (and create it when missing); ``writes``: the keys this user may put
    and delete (``>`` for all)."""
    grant = _read(spec.stream) | _create(spec.stream)
    return grant | _pub(f"$KV.{spec.name}.{writes}") if writes else grant


def _service(name: str, *extra: Grant) -> Grant:
    """What every service needs, plus ``extra``."""
    base = (
        _pub(f"{PREFIX}.svc.{name}.>", f"{PREFIX}.audit.{name}")
        | _sub(f"{inbox_prefix(name)}.>")
        | _pub(f"{_API}.STREAM.INFO.{streams.AUDIT.name}")
        | _create(streams.AUDIT.name)
        | _bucket(streams.SERVICES, writes=f"{name}.>")
        | _bucket(streams.CONFIG)
        | _bucket(streams.TOKENS)  # bearer tokens: every service authenticates callers
    )
    for grant in extra:
        base |= grant
    return base


SERVICE_USERS: Final[dict[str, Grant]] = {
    "governance": _service(
        "governance", _bucket(streams.CONFIG, writes=">"), _bucket(streams.TOKENS, writes=">")
    ),
    "device": _service("device", _owns(streams.TELEMETRY)),
    "oee": _service(
        "oee",
        _pub(*_family("oee", "downtime")),
        _sub(*_family("telemetry", "erp.workorder")),
        _uses(streams.TELEMETRY),
        _owns(streams.OEE_FINAL),
        _bucket(streams.OEE_STATE, writes=">"),
        _bucket(streams.LEASES, writes="oee.>"),
    ),
    "alerting": _service(
        "alerting",
        _pub(*_family("alarm")),
        _sub(*_family("telemetry", "oee")),
        _bucket(streams.ALARM_STATE, writes=">"),
        _bucket(streams.LEASES, writes="alerting.>"),
        _bucket(streams.NOTIFIED, writes=">"),
    ),
    "erp": _service(
        "erp",
        _pub(*_family("erp.workorder", "erp.confirmation")),
        _sub(*_family("oee")),
        _owns(streams.ERP_OUTBOX),
        _bucket(streams.ERP_STATE, writes=">"),
        _bucket(streams.LEASES, writes="erp.>"),
    ),
    "dashboard": _service(
        "dashboard",
        _sub(*_family("telemetry", "oee", "downtime", "alarm", "erp", "svc", "maintenance")),
    ),
    # the HTTP API: finds the services in the heartbeats and calls them over gRPC
    "gateway": _service("gateway"),
    # reads its streams through durable pull consumers (delivered to its own inbox) and
    # keeps the events stream's definition; it publishes nothing but its heartbeat and audit
    "historian": _service(
        "historian",
        _uses(streams.TELEMETRY),
        _uses(streams.EVENTS),
        _uses(streams.OEE_FINAL),
        _pub(f"{_API}.STREAM.UPDATE.{streams.EVENTS.name}"),
    ),
    # publishes the JSON namespace over MQTT, as MQTT retained messages (docs/mqtt.md)
    "uns": _service(
        "uns",
        _sub(*_family("telemetry", "oee", "downtime", "alarm"), write_requests("*")),
        _pub(JSON_NAMESPACE),
    ),
    # reads telemetry through an ordered consumer (delivered to its own inbox) and finds
    # the device service in the heartbeats; it publishes nothing on NATS but its own
    "sparkplug": _service("sparkplug", _uses(streams.TELEMETRY)),
    # counts usage from telemetry (core NATS, as alerting), publishes its events, keeps
    # its state and its request outbox; history comes from the historian over gRPC
    "maintenance": _service(
        "maintenance",
        _pub(*_family("maintenance")),
        _sub(*_family("telemetry")),
        _owns(streams.MAINTENANCE_OUTBOX),
        _bucket(streams.MAINTENANCE_STATE, writes=">"),
    ),
}
"""One user per service, named like the service."""

_PLANT_DATA: Final = _family(
    "telemetry",
    "oee",
    "oee_final",
    "downtime",
    "alarm",
    "erp.workorder",
    "erp.confirmation",
    "maintenance",
)


def _operator() -> Grant:
    grant = _sub(f"{PREFIX}.>", f"{inbox_prefix(OPERATOR)}.>")
    for stream in (streams.TELEMETRY, streams.AUDIT, streams.OEE_FINAL):
        grant |= _read(stream.name)
    for bucket in streams.ALL_BUCKETS:
        grant |= _read(bucket.stream)
    return grant


def _it_reader() -> Grant:
    # off-the-shelf clients reply to _INBOX: only it-reader's own replies travel there,
    # since every hub user has an inbox of its own
    return (
        _trees(*_PLANT_DATA, JSON_NAMESPACE)
        | _sub("_INBOX.>", f"{inbox_prefix(IT_READER)}.>")
        | _read(streams.TELEMETRY.name)
        | _read(streams.OEE_FINAL.name)
    )


def _provisioner() -> Grant:
    grant = _sub(f"{inbox_prefix(PROVISIONER)}.>")
    names = [s.name for s in streams.ALL_STREAMS] + [b.stream for b in streams.ALL_BUCKETS]
    for name in names:
        grant |= _pub(
            f"{_API}.STREAM.INFO.{name}",
            f"{_API}.STREAM.CREATE.{name}",
            f"{_API}.STREAM.UPDATE.{name}",
        )
    return grant


def grants(*, single_process: bool = False, provisioner: bool = False) -> dict[str, Grant]:
    """Every user and its grant; ``all`` (the union of the services, for ``plantbus run
    all``) and ``plantbus-up`` only when asked."""
    users = dict(SERVICE_USERS)
    if single_process:
        union = Grant()
        for grant in SERVICE_USERS.values():
            union |= grant
        users["all"] = union | _sub(f"{inbox_prefix('all')}.>")
    users[OPERATOR] = _operator()
    users[IT_READER] = _it_reader()
    users[MQTT_READER] = _trees(JSON_NAMESPACE)
    users[MQTT_WRITER] = _trees(JSON_NAMESPACE) | _pub(write_requests(MQTT_WRITER))
    if provisioner:
        users[PROVISIONER] = _provisioner()
    return users


def credentials_dir(data_dir: Path) -> Path:
    """Where ``plantbus up`` keeps its NATS users' passwords (and its server's store)."""
    return data_dir / "nats"


def password_file(directory: Path, user: str) -> Path:
    """Where ``user``'s password is kept."""
    return directory / f"{user}.password"


def _write_secret(path: Path, text: str) -> None:
    """Write a file that is 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def user_passwords(directory: Path, users: Iterable[str]) -> dict[str, str]:
    """Each user's password from ``directory`` (0600 files), created the first time."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for user in users:
        path = password_file(directory, user)
        if not path.is_file():
            _write_secret(path, secrets.token_urlsafe(32))
        out[user] = path.read_text().strip()
    return out


def _hash(password: str) -> str:
    """A bcrypt hash: nats-server compares it, and the config file holds no password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def password_variable(user: str) -> str:
    """The environment variable a server config names for ``user``'s password."""
    return "PLANTBUS_NATS_PASSWORD_" + user.upper().replace("-", "_")


def server_config(
    users: Mapping[str, Grant],
    passwords: Mapping[str, str] | None,
    store_dir: str,
    *,
    port: int = 4222,
    tls: Mapping[str, object] | None = None,
    mqtt_port: int | None = MQTT_PORT,
    mqtt_host: str | None = None,
) -> str:
    """A nats-server configuration (JSON is valid nats config) with one user per entry of
    ``users``, authenticated by bcrypt hashes of ``passwords``; or, with None, by the
    server's environment variables (:func:`password_variable`, from Kubernetes Secrets).
    With ``mqtt_port`` (None: off) the server also listens for MQTT clients, on
    ``mqtt_host`` (None: every interface), with the same TLS as NATS clients."""

    def secret(user: str) -> str:
        return _hash(passwords[user]) if passwords is not None else f"@@{user}@@"

    config: dict[str, Any] = {
        "port": port,
        "jetstream": {"store_dir": store_dir},
        "authorization": {
            "users": [
                {
                    "user": name,
                    "password": secret(name),
                    "permissions": grant.permissions(),
                }
                for name, grant in users.items()
            ]
        },
    }
    if tls:
        config["tls"] = dict(tls)
    if mqtt_port is not None:
        config["server_name"] = SERVER_NAME
        mqtt: dict[str, Any] = {"port": mqtt_port}
        if mqtt_host:
            mqtt["host"] = mqtt_host
        if tls:
            mqtt["tls"] = dict(tls)
        config["mqtt"] = mqtt
    text = json.dumps(config, indent=2)
    for name in users if passwords is None else ():
        text = text.replace(f'"@@{name}@@"', f"${password_variable(name)}")  # unquoted: a reference
    return text


def chart_values(users: Mapping[str, Grant], secret: str = "plantbus-nats-users") -> dict[str, Any]:
    """The same users for the official NATS Helm chart: ``config.merge.authorization``
    (``<< $VAR >>`` is the chart's unquoted reference) and each password as a container
    variable from key ``<user>`` of the Secret ``secret``."""
    return {
        "config": {
            "merge": {
                "authorization": {
                    "users": [
                        {
                            "user": name,
                            "password": f"<< ${password_variable(name)} >>",
                            "permissions": grant.permissions(),
                        }
                        for name, grant in users.items()
                    ]
                }
            }
        },
        "container": {
            "env": {
                password_variable(name): {
                    "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}
                }
                for name in users
            }
        },
    }


def write_config(path: Path, text: str) -> Path:
    """Write a server configuration (mode 0600: it names every user and permission)."""
    _write_secret(path, text)
    return path
