"""Every JetStream stream and KV bucket the hub uses, defined once.

A service opens what it needs through :func:`ensure_stream` and :func:`open_bucket`;
nothing else creates streams or buckets, so their shapes cannot drift apart. An existing
stream is never weakened: replicas and limits that an operator raised by hand are kept,
and the difference is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Final

import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, RetentionPolicy, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from plantbus.kit.bus import Bus
from plantbus.kit.subjects import PREFIX
from plantbus.sdk.errors import describe

__all__ = [
    "ALARM_STATE",
    "ALL_BUCKETS",
    "ALL_STREAMS",
    "AUDIT",
    "CONFIG",
    "ERP_OUTBOX",
    "ERP_STATE",
    "EVENTS",
    "OEE_FINAL",
    "OEE_STATE",
    "SERVICES",
    "TELEMETRY",
    "TOKENS",
    "BucketSpec",
    "StreamSpec",
    "ensure_stream",
    "open_bucket",
    "provision",
]

log = logging.getLogger(__name__)

_DAY: Final = 24 * 3600.0


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


TELEMETRY: Final = StreamSpec(
    "PLANTBUS_TELEMETRY", (f"{PREFIX}.telemetry.>",), max_age_s=_DAY, max_bytes=2 * 2**30
)
"""Samples for consumers that must not miss any (OEE, IT), one day by default."""
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
        for family in ("oee", "downtime", "alarm", "erp.workorder", "erp.confirmation")
    ),
    max_age_s=7 * _DAY,
    max_bytes=2**30,
)
"""OEE snapshots, downtime, alarm changes, work orders and confirmations: published as
core NATS messages and captured here, so the historian misses none while it restarts or
its store is full; a week and at most 1 GiB."""
OEE_FINAL: Final = StreamSpec("PLANTBUS_OEE_FINAL", (f"{PREFIX}.oee_final.>",), max_age_s=31 * _DAY)
"""Final figures of closed shifts and work orders (and their corrections), kept a month
for the historian and any other consumer that was away when they were published."""

CONFIG: Final = BucketSpec("plantbus_config", history=5)
SERVICES: Final = BucketSpec("plantbus_services", ttl_s=30.0)
"""The latest heartbeat per instance; an entry expires when its instance stops beating."""
OEE_STATE: Final = BucketSpec("plantbus_oee")
ALARM_STATE: Final = BucketSpec("plantbus_alarms")
ERP_STATE: Final = BucketSpec("plantbus_erp")
TOKENS: Final = BucketSpec("plantbus_tokens")
"""Bearer-token records by token id (hashes only); written by governance, read by all."""

ALL_STREAMS: Final = (TELEMETRY, AUDIT, ERP_OUTBOX, EVENTS, OEE_FINAL)
ALL_BUCKETS: Final = (CONFIG, SERVICES, OEE_STATE, ALARM_STATE, ERP_STATE, TOKENS)


def _looser(ours: float, theirs: float, unlimited: float) -> float:
    """The looser of two limits, where a value <= 0 means no limit."""
    return unlimited if ours <= 0 or theirs <= 0 else max(ours, theirs)


def _keep_stronger(wanted: StreamConfig, found: StreamConfig) -> StreamConfig:
    """``wanted`` with any replicas and limits an operator raised on ``found`` kept."""
    return replace(
        wanted,
        num_replicas=max(wanted.num_replicas or 1, found.num_replicas or 1),
        max_age=_looser(wanted.max_age or 0, found.max_age or 0, 0),
        max_bytes=int(_looser(wanted.max_bytes or -1, found.max_bytes or -1, -1)),
    )


async def ensure_stream(bus: Bus, spec: StreamSpec, **overrides: Any) -> None:
    """Create the stream, or bring an existing one up to ``spec`` without weakening it.

    ``overrides`` replace fields of the spec's configuration (``max_age``, say, from a
    service's settings).
    """
    wanted = replace(spec.config(), **overrides)
    try:
        info = await bus.js.stream_info(spec.name)
    except NotFoundError:
        await bus.js.add_stream(wanted)
        return
    merged = _keep_stronger(wanted, info.config)
    if merged != wanted:
        log.info(
            "stream %s differs from the hub's definition (replicas %s, max_age %s, "
            "max_bytes %s); keeping the stronger settings",
            spec.name,
            info.config.num_replicas,
            info.config.max_age,
            info.config.max_bytes,
        )
    if _same(merged, info.config):
        return  # nothing to change: most users may not update streams (kit/natsauth)
    try:
        await bus.js.update_stream(merged)
    except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as err:
        log.warning(
            "stream %s differs from the hub's definition and was not updated (%s): this NATS "
            "user may not change it; restart 'plantbus up', or update it as the NATS admin",
            spec.name,
            describe(err),
        )


def _same(wanted: StreamConfig, found: StreamConfig) -> bool:
    """True when ``found`` already has every setting the hub defines as ``wanted``."""
    limits = ("max_age", "max_bytes", "duplicate_window")
    return (
        sorted(wanted.subjects or ()) == sorted(found.subjects or ())
        and (wanted.num_replicas or 1) == (found.num_replicas or 1)
        and wanted.retention == found.retention
        and bool(wanted.deny_delete) == bool(found.deny_delete)
        and bool(wanted.deny_purge) == bool(found.deny_purge)
        and all(
            abs(float(getattr(wanted, n) or 0) - float(getattr(found, n) or 0)) < 1e-3
            for n in limits
        )
    )


async def provision(bus: Bus) -> None:
    """Create or bring up to date every stream and bucket (``plantbus up``, before services)."""
    for stream in ALL_STREAMS:
        await ensure_stream(bus, stream)
    for bucket in ALL_BUCKETS:
        await open_bucket(bus, bucket)


async def open_bucket(bus: Bus, spec: BucketSpec) -> KeyValue:
    """Open the bucket, creating it from ``spec`` when it does not exist."""
    try:
        return await bus.js.key_value(spec.name)
    except BucketNotFoundError:
        return await bus.js.create_key_value(
            KeyValueConfig(bucket=spec.name, history=spec.history, ttl=spec.ttl_s, **spec.extra)
        )
