"""Bringing an existing stream up to the hub's definition without weakening it: replicas
and limits an operator raised by hand are kept, and every difference is logged
(:mod:`plantbus.kit.streams` defines the streams and buckets and creates them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Final

import nats.errors
import nats.js.errors
from nats.js.api import StreamConfig

from plantbus.kit.bus import Bus
from plantbus.sdk.errors import ConfigError, describe

__all__ = ["LEADER_TIMEOUT_S", "bring_up", "refuse_replicas"]

log = logging.getLogger("plantbus.kit.streams")  # the streams' log, as before the split

LEADER_TIMEOUT_S: Final = 20.0


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


async def bring_up(bus: Bus, wanted: StreamConfig, found: StreamConfig, what: str) -> None:
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


def refuse_replicas(err: nats.js.errors.APIError, name: str, replicas: int) -> None:
    """Raise a ConfigError saying which setting to fix when ``err`` is about replicas."""
    if err.err_code in _TOO_FEW_SERVERS:
        raise ConfigError(
            f"cannot create {name} with {replicas} replicas ({describe(err)}): "
            "PLANTBUS_JS_REPLICAS must not exceed the number of JetStream servers in the "
            "NATS cluster"
        ) from err
