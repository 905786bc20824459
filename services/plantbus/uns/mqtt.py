"""The MQTT side of the uns service: one paho-mqtt client that publishes retained messages
on the hub's own nats-server MQTT listener.

Why MQTT and not a NATS publish: nats-server keeps an MQTT retained message (in its
``$MQTT_rmsgs`` stream) only for an MQTT PUBLISH with the retain flag. A NATS message on
the same subject reaches the MQTT subscribers of that moment and nobody after them, and
the stream's record format is the server's internal one, not an API (docs/architecture.md).

paho runs its network loop in a thread of its own; ``publish`` may be called from the
event loop (paho's client is thread-safe), and connection events are handed back to the
event loop through ``on_event``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["MqttPublisher"]


@dataclass
class _Counters:
    published: int = 0
    dropped: int = 0


class MqttPublisher:
    """Publishes retained messages at QoS 1 (QoS 1 so the broker acknowledges each one, and
    paho sends again what was in flight when the connection dropped); at most ``queue``
    messages wait while the broker is away, the ones beyond are dropped and counted."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        user: str | None,
        password: str | None,
        tls: ssl.SSLContext | None,
        queue: int,
        on_event: Callable[[str, bool], None],
    ) -> None:
        self.host, self.port = host, port
        self.counters = _Counters()
        self.connected = False
        self.problem = "connecting"
        self._on_event = on_event
        self._loop: asyncio.AbstractEventLoop | None = None
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,  # all nats-server speaks
            clean_session=True,
        )
        if user:
            client.username_pw_set(user, password)
        if tls is not None:
            client.tls_set_context(tls)
        client.max_queued_messages_set(queue)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        self._client = client

    def start(self) -> None:
        """Connect in the background (paho retries until it gets in)."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop paho's thread; safe to call twice."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False

    def publish(self, topic: str, payload: bytes, *, retain: bool = True) -> None:
        """Publish ``payload`` on ``topic``, retained unless told otherwise."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self.counters.published += 1  # NO_CONN: queued, sent on reconnect
        else:
            self.counters.dropped += 1

    def _event(self, what: str, ok: bool) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_event, what, ok)

    def _connected(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected = not reason.is_failure
        self.problem = "" if self.connected else f"refused: {reason}"
        self._event(str(reason), self.connected)

    def _disconnected(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self.connected:
            self.problem = f"disconnected: {reason}"
        self.connected = False
