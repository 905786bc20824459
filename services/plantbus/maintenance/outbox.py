"""A plan's warning or due point to the request connectors that want it, queued once per
due point (:mod:`plantbus.maintenance.requests` delivers them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import nats.errors
from nats.js.kv import KeyValue

from plantbus.config.maintenance import MaintenanceRequests, Plan
from plantbus.kit.bus import Bus
from plantbus.maintenance.engine import Event
from plantbus.maintenance.requests import enqueue, request_key, request_of

__all__ = ["due_in_hours", "queue_requests"]


def due_in_hours(plan: Plan, remaining: float | None) -> float | None:
    """Hours until ``plan`` is due, from its status' ``remaining`` (None: not in hours)."""
    if remaining is None:
        return None
    hours = {"running_hours": remaining, "calendar_days": remaining * 24, "condition": remaining}
    return hours.get(plan.by)


async def queue_requests(
    bus: Bus,
    kv: KeyValue,
    wanted: Iterable[MaintenanceRequests],
    plan: Plan,
    e: Event,
    log: logging.Logger,
) -> None:
    """Queue ``plan``'s request for every connector that wants the level of ``e``, once
    per due point (the epoch of the plan's component)."""
    if e.status is None:
        return
    due_in_h = due_in_hours(plan, e.status.remaining)
    for cfg in wanted:
        if e.kind not in cfg.on:
            continue
        key = request_key(plan.name, e.status.epoch, e.kind, cfg.name)
        request = request_of(
            key,
            cfg.name,
            plan.name,
            e.machine,
            plan.component,
            e.kind,
            e.message,
            e.time,
            e.usage,
            due_in_h,
        )
        try:
            if await enqueue(bus, kv, request):
                log.info("maintenance request %s queued", key)
        except nats.errors.Error as err:  # NATS away: the next level change asks again
            log.error("maintenance request %s not queued: %s", key, err)
