"""NATS access for services: settings, and a connected client with typed protobuf
publish, subscribe and request (connecting is :mod:`plantbus.kit.natsconnect`; streams
and buckets are :mod:`plantbus.kit.streams`).

Every message carries a ``Plantbus-Type`` header naming its protobuf message type
(``plantbus.v1.TagSampleBatch``) and the W3C ``traceparent`` of the publishing span,
so any subscriber can decode it and continue the trace.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from google.protobuf import symbol_database
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from pydantic import BaseModel, Field, SecretStr

from plantbus.kit import telemetry as otel
from plantbus.sdk.errors import ValidationFailed

__all__ = [
    "TYPE_HEADER",
    "Bus",
    "NatsSettings",
    "decode",
    "inbox_prefix",
    "kv_key",
    "message_type",
]

log = logging.getLogger(__name__)

TYPE_HEADER = "Plantbus-Type"
M = TypeVar("M", bound=Message)


class NatsSettings(BaseModel):
    """How to reach NATS. Credentials are secrets: never logged, never echoed."""

    url: str = "nats://127.0.0.1:4222"
    """One server, or several of a cluster separated by commas (the client also learns
    the others from the server it reaches)."""
    user: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    creds_file: Path | None = None
    """A .creds file (JWT + nkey seed) as issued by nsc."""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    name: str = "plantbus"
    connect_timeout_s: float = Field(default=5.0, gt=0)
    js_replicas: int = Field(default=1, ge=1, le=5)
    """Replicas of every stream and bucket the hub creates (:mod:`plantbus.kit.streams`);
    3 on a 3-node JetStream cluster, at most the number of its servers."""

    def tls_context(self) -> ssl.SSLContext | None:
        """An SSL context for the configured CA and client certificate, or None."""
        if not (self.tls_ca or self.tls_cert):
            return None
        ctx = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
        if self.tls_cert:
            ctx.load_cert_chain(str(self.tls_cert), str(self.tls_key) if self.tls_key else None)
        return ctx


def inbox_prefix(user: str) -> str:
    """The reply inbox of a NATS ``user``: the hub's server config lets nobody else
    subscribe to it (:mod:`plantbus.kit.natsauth`)."""
    return f"_INBOX_{user}"


def kv_key(text: str) -> str:
    """``text`` as a KV key: characters KV keys do not allow become ``_``, and so does an
    empty token (a key may not start or end with ``.`` nor hold ``..``)."""
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_=/." else "_" for c in text)
    return ".".join(token or "_" for token in safe.split("."))


def message_type(msg: Message) -> str:
    """The full protobuf name put in the type header."""
    return str(msg.DESCRIPTOR.full_name)


def decode(data: bytes, headers: Mapping[str, str] | None) -> Message:
    """Decode a bus payload by its type header; raises ValidationFailed naming the problem."""
    type_name = (headers or {}).get(TYPE_HEADER)
    if not type_name:
        raise ValidationFailed(f"message has no {TYPE_HEADER} header")
    try:
        cls = symbol_database.Default().GetSymbol(type_name)
    except KeyError:
        _import_contracts()
        try:
            cls = symbol_database.Default().GetSymbol(type_name)
        except KeyError as err:
            raise ValidationFailed(f"unknown message type {type_name!r}") from err
    msg: Message = cls()
    try:
        msg.ParseFromString(data)
    except DecodeError as err:
        raise ValidationFailed(f"payload is not a valid {type_name}: {err}") from err
    return msg


def _import_contracts() -> None:
    """Import every generated module so the symbol database knows every type."""
    import importlib
    import pkgutil

    import plantbus.v1

    for mod in pkgutil.iter_modules(plantbus.v1.__path__):
        if mod.name.endswith("_pb2"):
            importlib.import_module(f"plantbus.v1.{mod.name}")


@dataclass
class _Counters:
    disconnects: int = 0
    reconnects: int = 0
    errors: int = 0


class Bus:
    """A connected NATS client plus the JetStream context, with typed helpers."""

    def __init__(self, nc: Client, settings: NatsSettings) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.settings = settings
        self.counters = _Counters()
        self.closing = False

    @property
    def connected(self) -> bool:
        """True while the client has a live connection."""
        return bool(self.nc.is_connected)

    def headers_for(self, msg: Message, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers with the message type and the current trace context."""
        headers = {TYPE_HEADER: message_type(msg)}
        otel.inject(headers)
        if extra:
            headers.update(extra)
        return headers

    async def publish(
        self, subject: str, msg: Message, headers: Mapping[str, str] | None = None
    ) -> None:
        """Publish a protobuf message (core NATS, fire and forget)."""
        await self.nc.publish(
            subject, msg.SerializeToString(), headers=self.headers_for(msg, headers)
        )

    async def js_publish(
        self,
        subject: str,
        msg: Message,
        msg_id: str | None = None,
        timeout: float = 5.0,
    ) -> int:
        """Publish into a stream and wait for the ack; ``msg_id`` deduplicates. Returns the seq."""
        extra = {"Nats-Msg-Id": msg_id} if msg_id else None
        ack = await self.js.publish(
            subject, msg.SerializeToString(), timeout=timeout, headers=self.headers_for(msg, extra)
        )
        return int(ack.seq)

    async def subscribe(
        self,
        subject: str,
        handler: Callable[[str, Message, Msg], Awaitable[None]],
        queue: str = "",
        *,
        wanted: Callable[[Msg], bool] | None = None,
        span: str = "",
    ) -> Subscription:
        """Subscribe and hand each decoded message to ``handler`` inside its trace context
        (:class:`~plantbus.kit.telemetry.Consumption`: a span per trace context while
        spans are exported, named ``span`` or ``receive <subject>``; device cycles come at
        stream rates). ``wanted``, when given, sees each raw message first: one it refuses
        is not decoded.

        A payload that cannot be decoded is logged with its subject and dropped; it
        never stops the subscription.
        """
        consumption = otel.Consumption(span or f"receive {subject}")

        async def on_msg(raw: Msg) -> None:
            if wanted is not None and not wanted(raw):
                return
            try:
                decoded = decode(raw.data, raw.headers)
            except ValidationFailed as err:
                self.counters.errors += 1
                log.warning("dropped message on %s: %s", raw.subject, err)
                return
            with consumption.handling(raw.headers):
                await handler(raw.subject, decoded, raw)

        return await self.nc.subscribe(subject, queue=queue, cb=on_msg)

    async def request(
        self, subject: str, msg: Message, response: type[M], timeout: float = 5.0
    ) -> M:
        """Send a request and decode the typed reply."""
        reply = await self.nc.request(
            subject, msg.SerializeToString(), timeout=timeout, headers=self.headers_for(msg)
        )
        out = response()
        out.ParseFromString(reply.data)
        return out

    async def close(self) -> None:
        """Flush what was published and close; safe to call twice."""
        if self.nc.is_closed:
            return
        self.closing = True
        try:
            if self.nc.is_connected:
                await self.nc.flush(timeout=2)
        finally:
            await self.nc.close()
