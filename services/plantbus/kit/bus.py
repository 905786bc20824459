"""NATS access for services: connection from settings, typed protobuf publish/subscribe,
JetStream stream and KV helpers, and reconnects that show up in logs and metrics.

Every message carries a ``Plantbus-Type`` header naming its protobuf message type
(``plantbus.v1.TagSampleBatch``) and the W3C ``traceparent`` of the publishing span,
so any subscriber can decode it and continue the trace.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
from google.protobuf import symbol_database
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from pydantic import BaseModel, Field, SecretStr

from plantbus.kit import telemetry as otel
from plantbus.sdk.errors import ConfigError, ValidationFailed, describe

__all__ = [
    "TYPE_HEADER",
    "Bus",
    "NatsSettings",
    "connect",
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
    ) -> Subscription:
        """Subscribe and hand each decoded message to ``handler`` inside its trace context.

        A payload that cannot be decoded is logged with its subject and dropped; it
        never stops the subscription.
        """

        async def on_msg(raw: Msg) -> None:
            try:
                decoded = decode(raw.data, raw.headers)
            except ValidationFailed as err:
                self.counters.errors += 1
                log.warning("dropped message on %s: %s", raw.subject, err)
                return
            with otel.consume_span(f"receive {subject}", raw.headers):
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


_CONNECTION_ERRORS = (OSError, nats.errors.StaleConnectionError)  # EOF included
"""Errors of a lost or refused connection, reported once by the disconnect callback."""


async def connect(
    settings: NatsSettings,
    *,
    max_reconnect_attempts: int = -1,
    initial_attempts: int = 2,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
) -> Bus:
    """Connect to NATS from settings; reconnects forever by default and logs each transition.

    The first connection is tried ``initial_attempts`` times, then :class:`ConfigError`
    names the URL (a service exits and its supervisor or Kubernetes restarts it).
    """
    bus: Bus | None = None
    meter = otel.meter("plantbus.bus")
    reconnect_counter = meter.create_counter("plantbus.nats.reconnects")
    disconnect_counter = meter.create_counter("plantbus.nats.disconnects")

    async def disconnected() -> None:
        if bus is None or bus.closing:
            return
        disconnect_counter.add(1)
        bus.counters.disconnects += 1
        log.warning("NATS disconnected from %s; reconnecting", settings.url)

    async def reconnected() -> None:
        reconnect_counter.add(1)
        if bus:
            bus.counters.reconnects += 1
        log.info("NATS reconnected to %s", nc.connected_url.netloc if nc.connected_url else "?")
        if on_reconnected:
            await on_reconnected()

    first_errors: list[Exception] = []

    async def error(err: Exception) -> None:
        if bus is None:
            first_errors.append(err)
            log.debug("NATS connect attempt to %s failed: %s", settings.url, err)
            return
        bus.counters.errors += 1
        if isinstance(err, _CONNECTION_ERRORS):  # the disconnect and reconnect lines tell it
            log.debug("NATS connection to %s: %s", settings.url, describe(err))
        else:
            log.warning("NATS error: %s", describe(err))

    options: dict[str, Any] = {
        "servers": [settings.url],
        "name": settings.name,
        "connect_timeout": settings.connect_timeout_s,
        "max_reconnect_attempts": initial_attempts,
        "reconnect_time_wait": 0.5,
        "allow_reconnect": True,
        "disconnected_cb": disconnected,
        "reconnected_cb": reconnected,
        "error_cb": error,
        "pending_size": 64 * 1024 * 1024,
    }
    if settings.user:
        options["user"] = settings.user
        options["inbox_prefix"] = inbox_prefix(settings.user)
    if settings.password:
        options["password"] = settings.password.get_secret_value()
    if settings.token:
        options["token"] = settings.token.get_secret_value()
    if settings.creds_file:
        options["user_credentials"] = str(settings.creds_file)
    tls = settings.tls_context()
    if tls:
        options["tls"] = tls
    # nats-py can wait forever on a handshake that never completes (a plain client at a
    # TLS-only server), so the first connection has a deadline of its own
    deadline = (settings.connect_timeout_s + 0.5) * (initial_attempts + 1)
    try:
        nc = await asyncio.wait_for(nats.connect(**options), deadline)
    except TimeoutError as err:
        raise ConfigError(
            f"cannot connect to NATS at {settings.url}: no answer within {deadline:.0f}s. "
            "Does the server require TLS (PLANTBUS_NATS_TLS_CA, a tls:// URL)?"
        ) from err
    except Exception as err:
        if any("authorization" in str(e).lower() for e in first_errors):
            who = f"user {settings.user!r}" if settings.user else "no credential"
            raise ConfigError(
                f"cannot connect to NATS at {settings.url}: the server refused {who} "
                "(authorization violation). Set PLANTBUS_NATS_USER and "
                "PLANTBUS_NATS_PASSWORD_FILE (plantbus up keeps them in <data-dir>/nats), "
                "PLANTBUS_NATS_CREDS or PLANTBUS_NATS_TOKEN"
            ) from err
        raise ConfigError(
            f"cannot connect to NATS at {settings.url}: {describe(err)}. "
            "Is the hub running (plantbus up) or is --nats-url / PLANTBUS_NATS_URL right?"
        ) from err
    # nats-py uses one attempt limit for the first connection and for reconnects; once
    # connected, switch to the reconnect policy.
    nc.options["max_reconnect_attempts"] = max_reconnect_attempts
    bus = Bus(nc, settings)
    return bus
