"""Writes over MQTT: a request on ``uns/_set/<mqtt user>/<site>/<area>/<line>/<machine>/<tag>``
becomes the device service's ``WriteTag``, as the plant user ``uns.writers`` names for that
MQTT user, and its outcome is published on the same topic plus ``/_result``.

Who asked is proven by the topic: nats-server adds no sender to a message (MQTT 3.1.1 has no
headers, and NATS tells a subscriber who published only across accounts), so each MQTT
writer may publish only below its own name (:func:`plantbus.kit.natsauth.write_requests`).
The uns service trusts the name and nothing in the payload.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from plantbus.config import PlantConfig
from plantbus.config.uns import WRITES
from plantbus.kit.audit import record_outcome
from plantbus.kit.codec import tag_value
from plantbus.kit.service import ServiceContext
from plantbus.kit.tagwrite import DENIED, SUCCESS, write_tag
from plantbus.sdk.driver import Scalar
from plantbus.uns.payloads import encode
from plantbus.v1 import device_pb2, service_pb2

__all__ = ["BadRequest", "Request", "Writes", "request_of", "result_topic"]

_OUTCOMES: Final = {SUCCESS: "written", DENIED: "refused"}
_MAX_REASON: Final = 200


class BadRequest(ValueError):
    """A request whose payload is not ``{"value": ...}``."""


@dataclass(frozen=True)
class Request:
    """One write request: who sent it, the tag's path, what to write."""

    mqtt_user: str
    path: str
    value: Scalar
    reason: str
    id: str | int | None


def result_topic(mqtt_user: str, path: str) -> str:
    """Where the outcome of ``mqtt_user``'s write of ``path`` is published."""
    return f"{WRITES}/{mqtt_user}/{path}/_result"


def _payload(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(f'the payload is not JSON ({err}): send {{"value": ...}}') from None
    if not isinstance(body, dict) or "value" not in body:
        raise BadRequest('the payload must be a JSON object with "value": {"value": 1200}')
    return body


def request_of(subject: str, data: bytes) -> tuple[str, str, Request | BadRequest]:
    """(MQTT user, tag path, the request or why it is refused) of a NATS ``subject`` of the
    write tree (``uns._set.<user>.<five tokens>``: the only shape the server lets in)."""
    tokens = subject.split(".")[len(WRITES.split("/")) :]
    user, path = tokens[0], "/".join(tokens[1:])
    try:
        body = _payload(data)
        value, reason, ident = body["value"], body.get("reason", ""), body.get("id")
        if not isinstance(value, bool | int | float | str) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise BadRequest(f"value {value!r} is not a finite number, true/false or a string")
        if not isinstance(reason, str) or len(reason) > _MAX_REASON:
            raise BadRequest(f'"reason" must be a string of at most {_MAX_REASON} characters')
        if ident is not None and not isinstance(ident, str | int):
            raise BadRequest('"id" must be a string or a number (it is sent back as it came)')
    except BadRequest as err:
        return user, path, err
    return user, path, Request(user, path, value, reason, ident)


class Writes:
    """Decides and performs the write requests of one config version."""

    def __init__(self, ctx: ServiceContext, publish: Callable[[str, bytes], None]) -> None:
        self.ctx = ctx
        self._publish = publish
        """Publishes an outcome (not retained)."""
        self.writers: dict[str, str] = {}
        self._tags: dict[str, tuple[str, str]] = {}
        self.counters = {"written": 0, "refused": 0}

    def configure(self, config: PlantConfig) -> None:
        """Take the writers and the tags of a new config version."""
        self.writers = dict(config.uns.writers)
        self._tags = {
            f"{d.machine}/{t.name}": (d.name, t.name) for d in config.devices for t in d.tags
        }

    async def take(self, subject: str, data: bytes) -> None:
        """Perform one request, audit it and publish its outcome."""
        mqtt_user, path, request = request_of(subject, data)
        user = self.writers.get(mqtt_user, "")
        outcome, detail = await self._decide(mqtt_user, path, user, request)
        self.counters["written" if outcome == SUCCESS else "refused"] += 1
        if outcome != SUCCESS:
            self.ctx.log.warning("uns: MQTT write of %s by %s refused: %s", path, mqtt_user, detail)
        await record_outcome(
            self.ctx.audit,
            action="uns.write",
            target=path,
            actor=user or mqtt_user,
            outcome=outcome,
            detail=detail,
            attributes={"mqtt_user": mqtt_user},
        )
        result: dict[str, Any] = {
            "timestamp_ms": time.time_ns() // 1_000_000,
            "outcome": _OUTCOMES.get(outcome, "failed"),
            "detail": detail,
        }
        if isinstance(request, Request) and request.id is not None:
            result["id"] = request.id
        self._publish(result_topic(mqtt_user, path), encode(result))

    async def _decide(
        self, mqtt_user: str, path: str, user: str, request: Request | BadRequest
    ) -> tuple[service_pb2.AuditOutcome, str]:
        if not user:
            return DENIED, (
                f"MQTT user {mqtt_user!r} writes for no plant user: name one in uns.writers "
                f"({mqtt_user}: <user>) to let it write"
            )
        if isinstance(request, BadRequest):
            return DENIED, str(request)
        found = self._tags.get(path)
        if found is None:
            return DENIED, f"{path!r} is no tag of devices"
        device, tag = found
        write = device_pb2.WriteTagRequest(
            device=device,
            tag=tag,
            value=tag_value(request.value),
            reason=request.reason or f"MQTT write by {mqtt_user}",
        )
        return await write_tag(self.ctx.bus, self.ctx.grpc_tls, write, user)
