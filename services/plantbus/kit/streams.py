"""Every JetStream stream and KV bucket the hub uses, defined once.

A service opens what it needs through :func:`ensure_stream` and :func:`open_bucket`;
nothing else creates streams or buckets, so their shapes cannot drift apart. An existing
stream is never weakened: replicas and limits that an operator raised by hand are kept,
and the difference is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Final

import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from plantbus.kit.bus import Bus
from plantbus.kit.subjects import PREFIX
from plantbus.sdk.errors import ConfigError, describe

__all__ = [
    "ALARM_STATE",
    "ALL_BUCKETS",
    "ALL_STREAMS",
    "AUDIT",
    "CONFIG",
    "ERP_OUTBOX",
    "ERP_STATE",
    "EVENTS",
    "LEASES",
    "MAINTENANCE_OUTBOX",
    "MAINTENANCE_STATE",
    "NOTIFIED",
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
LEADER_TIMEOUT_S: Final = 20.0


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

ALL_STREAMS: Final = (TELEMETRY, AUDIT, ERP_OUTBOX, EVENTS, OEE_FINAL, MAINTENANCE_OUTBOX)
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


def _looser(ours: float, theirs: float, unlimited: float) -> float:
    """The looser of two limits, where a value <= 0 means no limit."""
    return unlimited if ours <= 0 or theirs <= 0 else max(ours, theirs)


_KEPT: Final = ("num_replicas", "max_age", "max_bytes", "duplicate_window", "max_msgs_per_subject")
"""What an operator may raise on a stream and the hub keeps."""
_CHECKED: Final = ("subjects", "retention", "deny_delete", "deny_purge", *_KEPT)
"""Every setting the hub defines and compares with what it finds."""


def _keep_stronger(wanted: StreamConfig, found: StreamConfig) -> StreamConfig:
    """``wanted`` with any replicas and limits an operator raised on ``found`` kept."""

    def limit(name: str, unlimited: float) -> float:
        ours, theirs = getattr(wanted, name), getattr(found, name)
        return _looser(
            unlimited if ours is None else ours, unlimited if theirs is None else theirs, unlimited
        )

    return replace(
        wanted,
        num_replicas=max(wanted.num_replicas or 1, found.num_replicas or 1),
        max_age=limit("max_age", 0),
        max_bytes=int(limit("max_bytes", -1)),
        duplicate_window=max(wanted.duplicate_window or 0, found.duplicate_window or 0),
        max_msgs_per_subject=int(limit("max_msgs_per_subject", -1)),
    )


def _value(config: StreamConfig, name: str) -> object:
    """A setting as compared: sorted subjects, defaults for unset ones, whole milliseconds
    for durations (the server stores nanoseconds)."""
    value = getattr(config, name)
    if name == "subjects":
        return sorted(value or ())
    if name in ("max_age", "duplicate_window"):
        return round(float(value or 0), 3)
    if name == "num_replicas":
        return value or 1
    if name in ("max_bytes", "max_msgs_per_subject"):
        return -1 if value is None else value
    if name.startswith("deny"):
        return bool(value)
    return value


def _differences(wanted: StreamConfig, found: StreamConfig) -> list[str]:
    """``name found (hub: wanted)`` for every setting the hub defines that ``found`` does
    not have."""
    return [
        f"{name} {_value(found, name)} (hub: {_value(wanted, name)})"
        for name in _CHECKED
        if _value(wanted, name) != _value(found, name)
    ]


async def _bring_up(bus: Bus, wanted: StreamConfig, found: StreamConfig, what: str) -> None:
    """Update ``found`` to ``wanted``, keeping what an operator raised; log what differs."""
    differences = _differences(wanted, found)
    if not differences:
        return  # nothing to change: most users may not update streams (kit/natsauth)
    merged = _keep_stronger(wanted, found)
    kept = [n for n in _KEPT if _value(merged, n) != _value(wanted, n)]
    log.info(
        "%s differs from the hub's definition: %s; keeping the stronger %s",
        what,
        ", ".join(differences),
        ", ".join(kept) or "nothing",
    )
    if not _differences(merged, found):
        return
    try:
        await bus.js.update_stream(merged)
    except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as err:
        log.warning(
            "%s differs from the hub's definition and was not updated (%s): this NATS "
            "user may not change it; restart 'plantbus up', or update it as the NATS admin",
            what,
            describe(err),
        )
        return
    if (merged.num_replicas or 1) > (found.num_replicas or 1):
        await _wait_leader(bus, found.name or "", what)


async def _wait_leader(bus: Bus, stream: str, what: str) -> None:
    """Wait until a stream whose replicas were raised has elected its leader again (a
    few seconds, during which writes to it time out)."""
    deadline = time.monotonic() + LEADER_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            info = await bus.js.stream_info(stream)
            if info.cluster is not None and info.cluster.leader:
                return
        await asyncio.sleep(0.1)
    log.warning("%s has no leader %.0f s after its replicas were raised", what, LEADER_TIMEOUT_S)


_TOO_FEW_SERVERS: Final = frozenset({10023, 10074})
"""JetStream's "insufficient resources" and "replicas > 1 not supported in non-clustered mode"."""


def _refuse_replicas(err: nats.js.errors.APIError, name: str, replicas: int) -> None:
    """Raise a ConfigError saying which setting to fix when ``err`` is about replicas."""
    if err.err_code in _TOO_FEW_SERVERS:
        raise ConfigError(
            f"cannot create {name} with {replicas} replicas ({describe(err)}): "
            "PLANTBUS_JS_REPLICAS must not exceed the number of JetStream servers in the "
            "NATS cluster"
        ) from err


async def ensure_stream(bus: Bus, spec: StreamSpec, **overrides: Any) -> None:
    """Create the stream, or bring an existing one up to ``spec`` without weakening it.

    ``overrides`` replace fields of the spec's configuration (``max_age``, say, from a
    service's settings). Replicas come from the bus's settings (``PLANTBUS_JS_REPLICAS``).
    """
    replicas = bus.settings.js_replicas
    wanted = replace(spec.config(), num_replicas=replicas, **overrides)
    try:
        info = await bus.js.stream_info(spec.name)
    except NotFoundError:
        try:
            await bus.js.add_stream(wanted)
        except nats.js.errors.APIError as err:
            _refuse_replicas(err, f"stream {spec.name}", replicas)
            raise
        return
    await _bring_up(bus, wanted, info.config, f"stream {spec.name}")


async def provision(bus: Bus) -> None:
    """Create or bring up to date every stream and bucket (``plantbus up``, before services)."""
    for stream in ALL_STREAMS:
        await ensure_stream(bus, stream)
    for bucket in ALL_BUCKETS:
        await open_bucket(bus, bucket)


async def open_bucket(bus: Bus, spec: BucketSpec) -> KeyValue:
    """Open the bucket, creating it from ``spec`` when it does not exist, or bringing its
    replicas, history and TTL up to ``spec`` (never down) when it does."""
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
            _refuse_replicas(err, f"bucket {spec.name}", replicas)
            raise
    found = info.config
    wanted = replace(
        found, num_replicas=replicas, max_msgs_per_subject=spec.history, max_age=spec.ttl_s or 0
    )
    await _bring_up(bus, wanted, found, f"bucket {spec.name}")
    return await bus.js.key_value(spec.name)
