"""The hub's NATS users and what each may do; :mod:`plantbus.kit.natsconfig` writes the
nats-server configuration that enforces it, for ``plantbus up`` (the embedded server) and
``plantbus security nats-config`` (a server of your own, Kubernetes).

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

from typing import Final

from plantbus.config.uns import ROOT as UNS_ROOT
from plantbus.config.uns import WRITES as UNS_WRITES
from plantbus.kit import streams
from plantbus.kit.bus import inbox_prefix
from plantbus.kit.natsgrant import (
    API,
    Grant,
    bucket,
    creates,
    family,
    owns,
    publish,
    reads,
    subscribe,
    trees,
    uses,
)
from plantbus.kit.subjects import PREFIX

__all__ = [
    "IT_READER",
    "JSON_NAMESPACE",
    "MQTT_READER",
    "MQTT_WRITER",
    "OPERATOR",
    "PROVISIONER",
    "SERVICE_USERS",
    "Grant",
    "grants",
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
PROVISIONER: Final = "plantbus-up"
"""``plantbus up`` itself: creates and updates streams before services start. Its password
lives only in the memory of ``plantbus up`` (the server config holds a bcrypt hash)."""
JSON_NAMESPACE: Final = f"{UNS_ROOT}.>"
"""The subjects of the JSON namespace (MQTT ``uns/#``), published by the uns service."""
_TAG: Final = ".*.*.*.*.*"
"""A tag path's five tokens: site, area, line, machine, tag."""


def write_requests(user: str) -> str:
    """The subjects ``user`` may publish write requests on (``*``: every MQTT writer)."""
    return UNS_WRITES.replace("/", ".") + f".{user}{_TAG}"


def _service(name: str, *extra: Grant) -> Grant:
    """What every service needs, plus ``extra``."""
    base = (
        publish(f"{PREFIX}.svc.{name}.>", f"{PREFIX}.audit.{name}")
        | subscribe(f"{inbox_prefix(name)}.>")
        | publish(f"{API}.STREAM.INFO.{streams.AUDIT.name}")
        | creates(streams.AUDIT.name)
        | bucket(streams.SERVICES, writes=f"{name}.>")
        | bucket(streams.CONFIG)
        | bucket(streams.TOKENS)  # bearer tokens: every service authenticates callers
    )
    for grant in extra:
        base |= grant
    return base


SERVICE_USERS: Final[dict[str, Grant]] = {
    "governance": _service(
        "governance", bucket(streams.CONFIG, writes=">"), bucket(streams.TOKENS, writes=">")
    ),
    # the telemetry stream (its cycle subjects), and each sample live on its tag's subject
    "device": _service("device", owns(streams.CYCLES), publish(*family("telemetry"))),
    "oee": _service(
        "oee",
        publish(*family("oee", "downtime")),
        subscribe(*family("erp.workorder")),
        uses(streams.CYCLES),
        owns(streams.OEE_FINAL),
        bucket(streams.OEE_STATE, writes=">"),
        bucket(streams.LEASES, writes="oee.>"),
    ),
    "alerting": _service(
        "alerting",
        publish(*family("alarm")),
        subscribe(*family("oee", "maintenance")),
        uses(streams.CYCLES),  # the tags of its rules, filtered by an ordered consumer
        bucket(streams.ALARM_STATE, writes=">"),
        bucket(streams.LEASES, writes="alerting.>"),
        bucket(streams.NOTIFIED, writes=">"),
    ),
    "erp": _service(
        "erp",
        publish(*family("erp.workorder", "erp.confirmation")),
        subscribe(*family("oee")),
        owns(streams.ERP_OUTBOX),
        bucket(streams.ERP_STATE, writes=">"),
        bucket(streams.LEASES, writes="erp.>"),
    ),
    "dashboard": _service(
        "dashboard",
        subscribe(*family("cycle", "oee", "downtime", "alarm", "erp", "svc", "maintenance")),
    ),
    # the HTTP API: finds the services in the heartbeats and calls them over gRPC
    "gateway": _service("gateway"),
    # reads its streams through durable pull consumers (delivered to its own inbox) and
    # keeps the events stream's definition; it publishes nothing but its heartbeat and audit
    "historian": _service(
        "historian",
        uses(streams.CYCLES),
        uses(streams.EVENTS),
        uses(streams.OEE_FINAL),
        publish(f"{API}.STREAM.UPDATE.{streams.EVENTS.name}"),
    ),
    # publishes the JSON namespace over MQTT, as MQTT retained messages (docs/mqtt.md)
    "uns": _service(
        "uns",
        subscribe(*family("cycle", "oee", "downtime", "alarm"), write_requests("*")),
        publish(JSON_NAMESPACE),
        uses(streams.CYCLES),  # the current values of a subtree it starts publishing
    ),
    # reads telemetry through an ordered consumer (delivered to its own inbox) and finds
    # the device service in the heartbeats; it publishes nothing on NATS but its own
    "sparkplug": _service("sparkplug", uses(streams.CYCLES)),
    # counts usage from the device cycles (core NATS), publishes its events, keeps
    # its state and its request outbox; history comes from the historian over gRPC
    "maintenance": _service(
        "maintenance",
        publish(*family("maintenance")),
        subscribe(*family("cycle")),
        owns(streams.MAINTENANCE_OUTBOX),
        bucket(streams.MAINTENANCE_STATE, writes=">"),
    ),
}
"""One user per service, named like the service."""

_PLANT_DATA: Final = family(
    "telemetry",
    "cycle",
    "oee",
    "oee_final",
    "downtime",
    "alarm",
    "erp.workorder",
    "erp.confirmation",
    "maintenance",
)


def _operator() -> Grant:
    grant = subscribe(f"{PREFIX}.>", f"{inbox_prefix(OPERATOR)}.>")
    for stream in (streams.CYCLES, streams.AUDIT, streams.OEE_FINAL):
        grant |= reads(stream.name)
    for spec in streams.ALL_BUCKETS:
        grant |= reads(spec.stream)
    return grant


def _it_reader() -> Grant:
    # off-the-shelf clients reply to _INBOX: only it-reader's own replies travel there,
    # since every hub user has an inbox of its own
    return (
        trees(*_PLANT_DATA, JSON_NAMESPACE)
        | subscribe("_INBOX.>", f"{inbox_prefix(IT_READER)}.>")
        | reads(streams.CYCLES.name)
        | reads(streams.OEE_FINAL.name)
    )


def _provisioner() -> Grant:
    grant = subscribe(f"{inbox_prefix(PROVISIONER)}.>")
    names = [s.name for s in streams.ALL_STREAMS] + [b.stream for b in streams.ALL_BUCKETS]
    # the per-sample stream an earlier release left: nobody here may read it any more
    grant |= publish(f"{API}.STREAM.DELETE.{streams.LEGACY_TELEMETRY}")
    for name in names:
        grant |= publish(
            f"{API}.STREAM.INFO.{name}",
            f"{API}.STREAM.CREATE.{name}",
            f"{API}.STREAM.UPDATE.{name}",
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
        users["all"] = union | subscribe(f"{inbox_prefix('all')}.>")
    users[OPERATOR] = _operator()
    users[IT_READER] = _it_reader()
    users[MQTT_READER] = trees(JSON_NAMESPACE)
    users[MQTT_WRITER] = trees(JSON_NAMESPACE) | publish(write_requests(MQTT_WRITER))
    if provisioner:
        users[PROVISIONER] = _provisioner()
    return users
