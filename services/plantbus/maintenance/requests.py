"""Maintenance requests out, exactly once per due point: a JetStream work queue
(``PLANTBUS_MAINTENANCE_OUTBOX``), one durable consumer per request connector.

Once: a request's key (plan, epoch of its component, warning or due, connector) is
marked in KV ``plantbus_maintenance`` when it is queued, and a key already marked is
never queued again (a plan that goes warning, ok, warning within one epoch asks once; a
restart that sees the plan in warning again asks nothing). The queue's message id is the
key too, so a crash between the queueing and the mark is deduplicated by the stream.
Delivery (:class:`plantbus.kit.outbox.OutboxConsumer`) is at-least-once (acked after the
connector filed it, retried with back-off while it raises ``NotifierUnavailable``); the key
goes with the request so the receiver drops a repeat. A request the receiver refuses is
kept in KV (``dead.<key>``) with its answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import Bus, kv_key
from plantbus.kit.outbox import OutboxConsumer, OutboxKind
from plantbus.kit.supervisor import TaskSet
from plantbus.sdk.errors import NotifierRejected, NotifierUnavailable
from plantbus.sdk.maintenance import MaintenanceConnector, MaintenanceRequest
from plantbus.v1 import maintenance_pb2

__all__ = ["RequestWorker", "enqueue", "request_key", "request_of"]

log = logging.getLogger(__name__)


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
    await bus.js_publish(subjects.maintenance_outbox(request.connector), request, request.key)
    await kv.put(mark, json.dumps({"queued": time.time()}).encode())
    return True


class RequestWorker(OutboxConsumer[maintenance_pb2.MaintenanceRequest]):
    """Delivers one connector's queue."""

    kind = OutboxKind(
        streams.MAINTENANCE_OUTBOX,
        subjects.maintenance_outbox,
        "maintenance",
        "maintenance requests",
        NotifierUnavailable,
        NotifierRejected,
    )

    def __init__(self, bus: Bus, kv: KeyValue, name: str, connector: MaintenanceConnector):
        super().__init__(bus, name)
        self.kv = kv
        self.connector = connector
        self.references: dict[str, str] = {}
        """Key -> the receiver's reference, of what this worker sent."""

    def decode(self, data: bytes) -> maintenance_pb2.MaintenanceRequest:
        """A request."""
        return maintenance_pb2.MaintenanceRequest.FromString(data)

    async def start(self, tasks: TaskSet | None = None) -> None:
        """Bind the durable consumer and deliver in ``tasks`` (the service's; a set of its
        own, whose failures are only logged, when none is given)."""
        await super().start(tasks if tasks is not None else TaskSet(log))

    async def stop(self) -> None:
        """Stop delivering (what is queued stays) and close the connector."""
        await super().stop()
        try:
            await self.connector.close()
        except Exception as err:  # noqa: BLE001 - the plugin boundary: a connector's close must not stop the service
            log.warning("maintenance requests %s: closing the connector failed: %s", self.name, err)

    def key(self, entry: maintenance_pb2.MaintenanceRequest) -> str:
        """The request's key."""
        return entry.key

    async def send(self, entry: maintenance_pb2.MaintenanceRequest) -> None:
        """File it; its error is over once one is filed."""
        self.references[entry.key] = await self.connector.send(
            codec.as_dataclass(MaintenanceRequest, entry)
        )
        self.last_error = ""

    async def bury(self, entry: maintenance_pb2.MaintenanceRequest, error: str) -> None:
        """Keep the refusal in KV (``dead.<mark>``)."""
        doc = {"error": error, "time": time.time(), "request": entry.message}
        await self.kv.put("dead." + _mark(entry.key), json.dumps(doc).encode())


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
