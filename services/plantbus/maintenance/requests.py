"""Maintenance requests out, exactly once per due point: a JetStream work queue
(``PLANTBUS_MAINTENANCE_OUTBOX``), one durable consumer per request connector.

Once: a request's key (plan, epoch of its component, warning or due, connector) is
marked in KV ``plantbus_maintenance`` when it is queued, and a key already marked is
never queued again (a plan that goes warning, ok, warning within one epoch asks once; a
restart that sees the plan in warning again asks nothing). The queue's message id is the
key too, so a crash between the queueing and the mark is deduplicated by the stream.
Delivery is at-least-once (acked after the connector filed it); the key goes with the
request so the receiver drops a repeat. A request the receiver refuses is kept in KV
(``dead.<key>``) with its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import TYPE_HEADER, Bus, kv_key
from plantbus.kit.tasks import cancel
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.v1 import maintenance_pb2

__all__ = ["RequestWorker", "enqueue", "request_key", "request_of"]

log = logging.getLogger(__name__)

_HEADERS = {TYPE_HEADER: "plantbus.v1.MaintenanceRequest"}


def request_key(plan: str, epoch: int, reason: str, connector: str) -> str:
    """The key of one due point's request to one connector."""
    return f"{plan}:{epoch}:{reason}:{connector}"


def _mark(key: str) -> str:
    return "request." + kv_key(key.replace(":", "."))


async def enqueue(bus: Bus, kv: KeyValue, request: maintenance_pb2.MaintenanceRequest) -> bool:
    """Queue ``request`` unless its key was queued before; True when it was queued now."""
    mark = _mark(request.key)
    with contextlib.suppress(KeyNotFoundError):
        if (await kv.get(mark)).value:
            return False
    await bus.js.publish(
        subjects.maintenance_outbox(request.connector),
        request.SerializeToString(),
        headers={**_HEADERS, "Nats-Msg-Id": request.key},
    )
    await kv.put(mark, json.dumps({"queued": time.time()}).encode())
    return True


def _sdk(msg: maintenance_pb2.MaintenanceRequest) -> MaintenanceRequest:
    return MaintenanceRequest(
        key=msg.key,
        plan=msg.plan,
        machine=msg.machine,
        component=msg.component,
        reason=msg.reason,
        message=msg.message,
        time=msg.time.ToDatetime(UTC),
        due=msg.due.ToDatetime(UTC) if msg.HasField("due") else None,
        usage=dict(msg.usage),
    )


@dataclass
class RequestWorker:
    """Delivers one connector's queue."""

    bus: Bus
    kv: KeyValue
    name: str
    connector: MaintenanceConnector
    max_backoff_s: float = 30.0
    redelivery_s: float = 30.0
    sent: int = 0
    dead: int = 0
    last_error: str = ""
    references: dict[str, str] = field(default_factory=dict)
    """Key -> the receiver's reference, of what this worker sent."""
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Bind the durable consumer and start delivering."""
        durable = f"maintenance-{self.name}"
        await self.bus.js.add_consumer(
            streams.MAINTENANCE_OUTBOX.name,
            config=ConsumerConfig(
                name=durable,
                durable_name=durable,
                filter_subject=subjects.maintenance_outbox(self.name),
                ack_wait=self.redelivery_s,
                max_deliver=-1,
                max_ack_pending=1,
            ),
        )
        self._sub = await self.bus.js.pull_subscribe_bind(durable, streams.MAINTENANCE_OUTBOX.name)
        self._task = asyncio.create_task(self._run(), name=f"maintenance-requests-{self.name}")

    async def stop(self) -> None:
        """Stop delivering (what is queued stays) and close the connector."""
        await cancel(self._task)
        self._task = None
        with contextlib.suppress(Exception):
            await self.connector.close()

    async def _run(self) -> None:
        while True:
            try:
                msgs = await self._sub.fetch(1, timeout=1)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as err:  # noqa: BLE001 - NATS away: wait and fetch again
                log.debug("maintenance request fetch failed: %s", err)
                await asyncio.sleep(1)
                continue
            for msg in msgs:
                await self._deliver(msg)

    async def _deliver(self, msg: Msg) -> None:
        request = maintenance_pb2.MaintenanceRequest.FromString(msg.data)
        failures = 0
        while True:
            try:
                reference = await self.connector.send(_sdk(request))
            except NotifierUnavailable as err:
                failures += 1
                if failures == 1:
                    log.warning("maintenance requests %s: %s", self.name, err)
                self.last_error = str(err)
                await self._hold(msg, min(self.max_backoff_s, 0.5 * 2 ** min(failures, 10)))
                continue
            except NotifierRejected as err:
                self.dead, self.last_error = self.dead + 1, str(err)
                log.error("maintenance request %s refused: %s", request.key, err)
                doc = {"error": str(err), "time": time.time(), "request": request.message}
                await self.kv.put("dead." + _mark(request.key), json.dumps(doc).encode())
            else:
                self.sent, self.last_error = self.sent + 1, ""
                self.references[request.key] = reference
            await msg.ack()
            return

    async def _hold(self, msg: Msg, seconds: float) -> None:
        """Wait, keeping the entry ours (each in-progress mark restarts its clock)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            with contextlib.suppress(Exception):
                await msg.in_progress()
            await asyncio.sleep(min(left, self.redelivery_s / 2))


def request_of(
    key: str,
    connector: str,
    plan: str,
    machine: str,
    component: str,
    reason: str,
    message: str,
    when: float,
    usage: Mapping[str, float],
    due_in_h: float | None,
) -> maintenance_pb2.MaintenanceRequest:
    """The queued message."""
    out = maintenance_pb2.MaintenanceRequest(
        key=key,
        plan=plan,
        machine=machine,
        component=component,
        reason=reason,
        message=message,
        time=codec.timestamp(when),
        usage=dict(usage),
        connector=connector,
    )
    if due_in_h is not None:
        out.due.CopyFrom(codec.timestamp(when + due_in_h * 3600))
    return out
