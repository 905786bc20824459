"""Every JetStream stream and KV bucket the hub uses, defined once.

A service opens what it needs through :func:`ensure_stream` and :func:`open_bucket`;
nothing else creates streams or buckets, so their shapes cannot drift apart. An existing
stream is never weakened: replicas and limits that an operator raised by hand are kept,
and the difference is logged (:mod:`plantbus.kit.reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from plantbus.kit.bus import Bus
from plantbus.kit.reconcile import bring_up, refuse_replicas
from plantbus.kit.subjects import PREFIX

__all__ = [
    "ALARM_STATE",
    "ALL_BUCKETS",
    "ALL_STREAMS",
    "AUDIT",
    "CONFIG",
    "CYCLES",
    "ERP_OUTBOX",
    "ERP_STATE",
    "EVENTS",
    "LEASES",
    "LEGACY_TELEMETRY",
    "MAINTENANCE_OUTBOX",
    "MAINTENANCE_STATE",
    "NOTIFIED",
    "OEE_FINAL",
    "OEE_STATE",
    "SERVICES",
    "TOKENS",
    "BucketSpec",
    "StreamSpec",
    "ensure_stream",
    "open_bucket",
    "provision",
]

log = logging.getLogger(__name__)

_DAY: Final = 24 * 3600.0
SETTLE_S: Final = 30.0
"""How long a stream or bucket is asked for again when JetStream does not answer (a
cluster electing its leaders, another replica creating the same stream) before the error
goes to the caller."""
_T = TypeVar("_T")


@dataclass(frozen=True)
class StreamSpec:
    """A stream as the hub creates it."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float = 0.0
    """0 keeps messages until another limit or the retention policy removes them."""
    max_bytes: int = -1
    duplicate_window_s: float = 120.0
    retention: RetentionPolicy = RetentionPolicy.LIMITS
    deny_delete: bool = False
    """No message can be deleted through the API (the server refuses to lift this later)."""
    deny_purge: bool = False
    """The stream cannot be purged (nor can this be lifted later)."""

    def config(self) -> StreamConfig:
        """The nats-py stream configuration."""
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            duplicate_window=self.duplicate_window_s,
            retention=self.retention,
            deny_delete=self.deny_delete,
            deny_purge=self.deny_purge,
        )


@dataclass(frozen=True)
class BucketSpec:
    """A KV bucket as the hub creates it."""

    name: str
    history: int = 1
    ttl_s: float | None = None
    """Entries expire this long after their last write (None: never)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> str:
        """The stream that holds the bucket."""
        return f"KV_{self.name}"


CYCLES: Final = StreamSpec(
    "PLANTBUS_CYCLES", (f"{PREFIX}.cycle.>",), max_age_s=_DAY, max_bytes=2 * 2**30
)
"""Every sample, for consumers that must not miss any (OEE, alerting, the historian, IT):
one message per device cycle (:mod:`plantbus.device.publisher`), one day by default."""
LEGACY_TELEMETRY: Final = "PLANTBUS_TELEMETRY"
"""The stream that held one message per sample before PLANTBUS_CYCLES (docs/subscribing.md):
no longer created, and deleted by ``plantbus up`` (:func:`provision`); elsewhere, where it
is left, it still stores every live per-tag message."""
AUDIT: Final = StreamSpec(
    "PLANTBUS_AUDIT",
    (f"{PREFIX}.audit.>",),
    max_age_s=400 * _DAY,  # a year and a bit: audits outlive annual reviews
    deny_delete=True,
    deny_purge=True,
)
"""Who did what; records cannot be deleted or purged, and no NATS user may delete or edit
the stream (:mod:`plantbus.kit.natsauth`)."""
ERP_OUTBOX: Final = StreamSpec(
    "PLANTBUS_ERP_OUTBOX",
    (f"{PREFIX}.erp.outbox.>",),
    retention=RetentionPolicy.WORK_QUEUE,
    duplicate_window_s=_DAY,
)
"""Confirmations on their way to the ERP; an entry leaves when the ERP has it."""
EVENTS: Final = StreamSpec(
    "PLANTBUS_EVENTS",
    tuple(
        f"{PREFIX}.{family}.>"
        for family in (
            "oee",
            "downtime",
            "alarm",
            "erp.workorder",
            "erp.confirmation",
            "maintenance",
        )
    ),
    max_age_s=7 * _DAY,
    max_bytes=2**30,
)
"""OEE snapshots, downtime, alarm changes, work orders, confirmations and maintenance
events: published as
core NATS messages and captured here, so the historian misses none while it restarts or
its store is full; a week and at most 1 GiB."""
MAINTENANCE_OUTBOX: Final = StreamSpec(
    "PLANTBUS_MAINTENANCE_OUTBOX",
    (f"{PREFIX}.maintenance_outbox.>",),
    retention=RetentionPolicy.WORK_QUEUE,
    duplicate_window_s=_DAY,
)
"""Maintenance requests on their way to a connector; one message per due point (its key
is the message id), removed when the connector has it."""
OEE_FINAL: Final = StreamSpec("PLANTBUS_OEE_FINAL", (f"{PREFIX}.oee_final.>",), max_age_s=31 * _DAY)
"""Final figures of closed shifts and work orders (and their corrections), kept a month
for the historian and any other consumer that was away when they were published."""

CONFIG: Final = BucketSpec("plantbus_config", history=5)
SERVICES: Final = BucketSpec("plantbus_services", ttl_s=30.0)
"""The latest heartbeat per instance; an entry expires when its instance stops beating."""
OEE_STATE: Final = BucketSpec("plantbus_oee")
ALARM_STATE: Final = BucketSpec("plantbus_alarms")
ERP_STATE: Final = BucketSpec("plantbus_erp")
MAINTENANCE_STATE: Final = BucketSpec("plantbus_maintenance")
"""Usage counters per component, anomaly baselines per monitor and the due points whose
requests are queued (the maintenance service's)."""
TOKENS: Final = BucketSpec("plantbus_tokens")
"""Bearer-token records by token id (hashes only); written by governance, read by all."""

LEASES: Final = BucketSpec("plantbus_leases", ttl_s=_DAY)
"""Which replica runs which scope of a service (:mod:`plantbus.kit.lease`): written only
with compare-and-set; an entry no replica renews any more leaves after a day."""
NOTIFIED: Final = BucketSpec("plantbus_notified", ttl_s=_DAY)
"""One entry per alarm transition a notifier was given (created once, across replicas)."""

ALL_STREAMS: Final = (CYCLES, AUDIT, ERP_OUTBOX, EVENTS, OEE_FINAL, MAINTENANCE_OUTBOX)
ALL_BUCKETS: Final = (
    CONFIG,
    SERVICES,
    OEE_STATE,
    ALARM_STATE,
    ERP_STATE,
    MAINTENANCE_STATE,
    TOKENS,
    LEASES,
    NOTIFIED,
)


async def ensure_stream(bus: Bus, spec: StreamSpec, **overrides: Any) -> None:
    """Create the stream, or bring an existing one up to ``spec`` without weakening it.

    ``overrides`` replace fields of the spec's configuration (``max_age``, say, from a
    service's settings). Replicas come from the bus's settings (``PLANTBUS_JS_REPLICAS``).
    Asked again for up to :data:`SETTLE_S` while JetStream does not answer.
    """
    await _settled(f"stream {spec.name}", lambda: _ensure_stream(bus, spec, **overrides))


async def _ensure_stream(bus: Bus, spec: StreamSpec, **overrides: Any) -> None:
    replicas = bus.settings.js_replicas
    wanted = replace(spec.config(), num_replicas=replicas, **overrides)
    try:
        info = await bus.js.stream_info(spec.name)
    except NotFoundError:
        try:
            await bus.js.add_stream(wanted)
        except nats.js.errors.APIError as err:
            refuse_replicas(err, f"stream {spec.name}", replicas)
            raise
        return
    await bring_up(bus, wanted, info.config, f"stream {spec.name}")


async def provision(bus: Bus) -> None:
    """Create or bring up to date every stream and bucket (``plantbus up``, before services,
    on its own servers), and delete the per-sample stream an earlier release made."""
    for stream in ALL_STREAMS:
        await ensure_stream(bus, stream)
    for bucket in ALL_BUCKETS:
        await open_bucket(bus, bucket)
    with contextlib.suppress(NotFoundError):
        await bus.js.delete_stream(LEGACY_TELEMETRY)
        log.warning(
            "deleted stream %s, left by an earlier release: it stored every sample once "
            "more, one message each, and no user of this hub may read it; every sample is "
            "in %s (docs/subscribing.md, 'From PLANTBUS_TELEMETRY')",
            LEGACY_TELEMETRY,
            CYCLES.name,
        )


async def open_bucket(bus: Bus, spec: BucketSpec) -> KeyValue:
    """Open the bucket, creating it from ``spec`` when it does not exist, or bringing its
    replicas, history and TTL up to ``spec`` (never down) when it does; asked again for up
    to :data:`SETTLE_S` while JetStream does not answer."""
    return await _settled(f"bucket {spec.name}", lambda: _open_bucket(bus, spec))


async def _settled(what: str, ask: Callable[[], Awaitable[_T]]) -> _T:
    """``ask()``, again every second while it times out, for up to :data:`SETTLE_S`."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        try:
            return await ask()
        except (TimeoutError, nats.errors.TimeoutError):
            if time.monotonic() > deadline:
                raise
            log.warning("%s: no answer from JetStream (leaders being elected?); asking again", what)
            await asyncio.sleep(1.0)


async def _open_bucket(bus: Bus, spec: BucketSpec) -> KeyValue:
    replicas = bus.settings.js_replicas
    try:
        info = await bus.js.stream_info(spec.stream)
    except NotFoundError:
        try:
            return await bus.js.create_key_value(
                KeyValueConfig(
                    bucket=spec.name,
                    history=spec.history,
                    ttl=spec.ttl_s,
                    replicas=replicas,
                    **spec.extra,
                )
            )
        except nats.js.errors.APIError as err:
            refuse_replicas(err, f"bucket {spec.name}", replicas)
            raise
    found = info.config
    wanted = replace(
        found, num_replicas=replicas, max_msgs_per_subject=spec.history, max_age=spec.ttl_s or 0
    )
    await bring_up(bus, wanted, found, f"bucket {spec.name}")
    return await bus.js.key_value(spec.name)
