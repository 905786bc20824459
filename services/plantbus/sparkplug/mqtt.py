"""One MQTT session of the edge node (paho-mqtt), as an asyncio object.

paho runs the socket in its own thread; every callback hands over to the event loop
(``call_soon_threadsafe``), so the edge node's state is only touched there. paho's own
reconnect is off: each session registers a Will with its own bdSeq, so a reconnect is a
new :class:`Session`, made by the service.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from plantbus.config.sparkplug import Broker
from plantbus.sdk.errors import DeviceUnavailable
from plantbus.sparkplug.node import Outgoing

__all__ = ["Session", "next_bdseq"]

Handler = Callable[[str, bytes], None]


def next_bdseq(path: Path) -> int:
    """The bdSeq of a new MQTT session: one more than the last one (0..255), kept in
    ``path`` before the session connects, so a restarted bridge goes on counting."""
    try:
        bdseq = (int(path.read_text().strip()) + 1) % 256
    except (OSError, ValueError):
        bdseq = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    part.write_text(f"{bdseq}\n")
    os.replace(part, path)
    return bdseq


def _tls(broker: Broker) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=broker.ca_file or None)
    if broker.cert_file:
        context.load_cert_chain(broker.cert_file, broker.key_file)
    return context


class Session:
    """Connect with ``will``; ``on_message(topic, payload)`` runs in the event loop."""

    def __init__(
        self,
        broker: Broker,
        client_id: str,
        password: str,
        will: Outgoing,
        on_message: Handler,
    ) -> None:
        self.broker = broker
        self._loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self._on_message = on_message
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
            reconnect_on_failure=False,
        )
        client.connect_timeout = broker.connect_timeout_s
        if broker.username:
            client.username_pw_set(broker.username, password or None)
        if broker.tls:
            client.tls_set_context(_tls(broker))
        # Sparkplug: the NDEATH Will is QoS 1, not retained
        client.will_set(will.topic, will.payload, qos=1, retain=False)
        client.on_connect = self._connect_cb
        client.on_disconnect = self._disconnect_cb
        client.on_message = self._message_cb
        self.client = client

    # paho's thread ------------------------------------------------------------------
    def _connect_cb(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        failed = reason.is_failure
        self._loop.call_soon_threadsafe(self._settle_connect, str(reason) if failed else "")

    def _disconnect_cb(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self._loop.call_soon_threadsafe(self._settle_close, str(reason))

    def _message_cb(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        self._loop.call_soon_threadsafe(self._on_message, message.topic, bytes(message.payload))

    # the event loop -----------------------------------------------------------------
    def _settle_connect(self, refused: str) -> None:
        if self._connected.done():
            return
        if refused:
            self._connected.set_exception(
                DeviceUnavailable(
                    f"MQTT broker {self.broker.url} refused the connection: {refused}"
                )
            )
        else:
            self._connected.set_result(None)

    def _settle_close(self, reason: str) -> None:
        if not self._closed.done():
            self._closed.set_result(reason)
        self._settle_connect(reason or "connection closed")

    async def connect(self) -> None:
        """Connect and wait for the broker's CONNACK; DeviceUnavailable says why not."""
        try:
            await asyncio.to_thread(
                self.client.connect, self.broker.host, self.broker.port, self.broker.keepalive_s
            )
        except (OSError, ssl.SSLError) as err:
            raise DeviceUnavailable(f"cannot reach MQTT broker {self.broker.url}: {err}") from None
        self.client.loop_start()
        try:
            await asyncio.wait_for(self._connected, self.broker.connect_timeout_s)
        except TimeoutError:
            await self.close()
            raise DeviceUnavailable(
                f"MQTT broker {self.broker.url} did not answer within "
                f"{self.broker.connect_timeout_s:g}s"
            ) from None
        except DeviceUnavailable:
            await self.close()
            raise

    def subscribe(self, *topics: str) -> None:
        """Subscribe (QoS 1) before anything is published, as Sparkplug asks of an edge node."""
        self.client.subscribe([(topic, 1) for topic in topics])

    def publish(self, message: Outgoing, qos: int = 0) -> paho.MQTTMessageInfo:
        """Queue ``message`` (thread-safe; paho keeps the order)."""
        return self.client.publish(message.topic, message.payload, qos=qos, retain=False)

    async def closed(self) -> str:
        """Wait until the session ends; why it ended."""
        return await asyncio.shield(self._closed)

    async def close(self, last: Outgoing | None = None) -> None:
        """Publish ``last`` (the NDEATH of a deliberate disconnect) and disconnect."""
        if last is not None and not self._closed.done():
            info = self.publish(last, qos=1)
            await asyncio.to_thread(info.wait_for_publish, 5.0)
        self.client.disconnect()
        await asyncio.to_thread(self.client.loop_stop)
