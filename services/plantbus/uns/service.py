"""The uns service: the subtrees the plant config opts in (``uns:``), as JSON on the
unified namespace of the hub's MQTT listener.

It follows the device cycles (every sample of a poll cycle in one message, the
``plantbus.v1.cycle`` subjects), OEE, alarm and downtime subjects (a queue group: replicas
share the work), each family while the config publishes any of its kind (a plant's every
sample is dear to decode for a section that publishes no values), and publishes each
selected sample and message, as JSON, retained, over MQTT: a tag's last value, a scope's
last OEE snapshot, each alarm's state and each machine's last downtime event are there for
a client that subscribes later, and every change reaches the ones already subscribed. What
it publishes is decided by the config alone. When a version opts a subtree in (the first
one too), the current values of its tags are read back from the telemetry stream and
published (:mod:`plantbus.uns.recent`), except those a live cycle published meanwhile; two
replicas starting together may each publish them once.

It also takes the write requests of MQTT writers (:mod:`plantbus.uns.writes`), in the order
they come, as the plant users the config names for them. It has no servicer: its gRPC port
serves health and reflection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

import nats.errors
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.config import PlantConfig
from plantbus.config.uns import UnsConfig
from plantbus.kit import subjects, tagfeed
from plantbus.kit.audit import record_outcome
from plantbus.kit.natsauth import write_requests
from plantbus.kit.service import Service, ServiceContext
from plantbus.uns import payloads, recent
from plantbus.uns.mqtt import MqttPublisher
from plantbus.uns.options import UnsOptions
from plantbus.uns.selection import ValuesSelection
from plantbus.uns.writes import Writes
from plantbus.v1 import alerting_pb2, oee_pb2, service_pb2, telemetry_pb2

__all__ = ["UnsService"]

_QUEUE = "uns"


def _values_paths(section: UnsConfig) -> set[str]:
    return {entry.path for entry in section.publish if entry.values}


class UnsService(Service):
    """Publishes the JSON namespace over MQTT."""

    name: ClassVar[str] = "uns"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"uns", "devices"})

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.options = UnsOptions.parse(ctx.options)
        nats = ctx.bus.settings
        host, port, tls = self.options.address(nats)
        self.url = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        self.section = UnsConfig()
        self.values = ValuesSelection(self.section)
        secret = nats.password or nats.token  # MQTT clients log in as NATS users do
        self.mqtt = MqttPublisher(
            host,
            port,
            client_id=f"plantbus-uns-{ctx.instance}",
            user=nats.user,
            password=secret.get_secret_value() if secret else None,
            tls=(nats.tls_context() or ssl.create_default_context()) if tls else None,
            queue=self.options.queue,
            on_event=self._on_mqtt,
        )
        self.writes = Writes(ctx, lambda topic, data: self.mqtt.publish(topic, data, retain=False))
        self._refused = False
        self._subs: list[Subscription] = []
        self._heard: dict[str, Subscription] = {}
        """Family (``cycle``, ``oee``...) -> its subscription, while the section publishes
        its kind."""
        self._seed: asyncio.Task[None] | None = None
        self._live: set[str] | None = None
        """While current values are read back: the tags a live cycle published meanwhile."""
        self._seeded = UnsConfig()
        """The section whose current values were read back (a cancelled read-back leaves
        it as it was, so the next one covers what that one did not)."""

    def health(self) -> tuple[bool, str]:
        """Serving while the MQTT listener has us; the detail says where, and what failed."""
        counters = self.mqtt.counters
        dropped = f", {counters.dropped} dropped" if counters.dropped else ""
        if not self.mqtt.connected:
            return False, f"MQTT {self.url}: {self.mqtt.problem}{dropped}"
        writes = self.writes.counters
        return True, (
            f"{self.url}, {counters.published} published{dropped}, "
            f"{writes['written']} writes ({writes['refused']} refused)"
        )

    async def start(self) -> None:
        """Connect to MQTT and follow the bus."""
        self.mqtt.start()
        # an MQTT publish carries no Plantbus-Type header: its JSON is read raw
        self._subs.append(
            await self.ctx.bus.nc.subscribe(write_requests("*"), queue=_QUEUE, cb=self._on_write)
        )

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Publish what the new version opts in; a change of what is published is audited."""
        previous, self.section = self.section, config.uns
        self.values = ValuesSelection(config.uns)
        await self._hear(config.uns)
        self.writes.configure(config)
        self.config_version = version
        if self._seed is not None:
            self._seed.cancel()
        if config.uns.prefix != self._seeded.prefix:
            self._seeded = UnsConfig()  # every topic is new
        if _values_paths(config.uns) - _values_paths(self._seeded):
            since = tagfeed.current_since(config.devices)
            self._seed = self.tasks.spawn(self._current_values(since), name="uns-current")
        else:
            self._seeded = config.uns  # all it opts in was read back before
        if config.uns != previous:
            subtrees = ", ".join(entry.path for entry in config.uns.publish) or "nothing"
            writers = ", ".join(f"{m} as {u}" for m, u in config.uns.writers.items())
            if writers:
                subtrees += f"; writers: {writers}"
            await record_outcome(
                self.ctx.audit,
                action="uns.publish",
                target=config.uns.prefix,
                actor=self.name,
                detail=f"config version {version}: {subtrees}",
            )

    async def stop(self) -> None:
        """Leave the bus and MQTT."""
        for sub in self._subs:
            with contextlib.suppress(nats.errors.Error):  # the connection is gone already
                await sub.unsubscribe()
        self._subs.clear()
        await self._hear(UnsConfig())
        await self.tasks.drain(2)  # audit records under way: let them be stored
        await asyncio.to_thread(self.mqtt.stop)
        await super().stop()

    @property
    def heard(self) -> list[str]:
        """The families of subjects heard now (``cycle``, ``oee``, ``alarm``, ``downtime``)."""
        return sorted(self._heard)

    async def _hear(self, section: UnsConfig) -> None:
        """Subscribe to each family whose kind ``section`` publishes, leave the others."""
        handlers: dict[str, tuple[str, Callable[[str, Message, Msg], Awaitable[None]]]] = {
            "cycle": ("values", self._on_samples),
            "oee": ("oee", self._on_oee),
            "alarm": ("alarms", self._on_alarm),
            "downtime": ("downtime", self._on_downtime),
        }
        for family, (kind, handler) in handlers.items():
            wanted = any(getattr(entry, kind) for entry in section.publish)
            heard = self._heard.get(family)
            if wanted and heard is None:
                subject = f"{subjects.PREFIX}.{family}.>"
                self._heard[family] = await self.ctx.bus.subscribe(
                    subject, handler, _QUEUE, wanted=self._read if family == "cycle" else None
                )
            elif not wanted and heard is not None:
                del self._heard[family]
                with contextlib.suppress(nats.errors.Error):  # the connection is gone already
                    await heard.unsubscribe()

    async def _on_write(self, raw: Msg) -> None:
        await self.writes.take(raw.subject, raw.data)

    def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.mqtt.publish(topic, payloads.encode(payload))

    def _read(self, raw: Msg) -> bool:
        """Whether a cycle is of a machine whose tags may be published (else not decoded)."""
        return self.values.reads(raw.subject)

    async def _on_samples(self, subject: str, msg: Message, raw: Msg) -> None:
        values = self.values
        if not isinstance(msg, telemetry_pb2.TagSampleBatch) or not values.reads(subject):
            return
        for sample in msg.samples:
            topic = values.topic(sample.path)
            if topic is not None:
                if self._live is not None:
                    self._live.add(sample.path)
                self._publish(topic, payloads.sample(sample))

    async def _current_values(self, since: datetime) -> None:
        """Publish the latest value stored since ``since`` of every tag the section opts
        in that the section read back before did not (those are on their topics already)
        and that no live cycle published meanwhile (it is newer)."""
        live: set[str] = set()
        section, seeded, self._live = self.section, self._seeded, live

        def opted_in(path: str) -> bool:
            return section.selects(path, "values") and not seeded.selects(path, "values")

        try:
            latest = await recent.latest_samples(self.ctx.bus, since, opted_in)
        except nats.errors.Error as err:
            self.ctx.log.warning("uns: current values not read back from the stream: %s", err)
            return
        finally:
            if self._live is live:  # not a newer version's reading
                self._live = None
        fresh = [s for path, s in latest.items() if path not in live]
        for sample in fresh:
            self._publish(payloads.tag_topic(section.prefix, sample.path), payloads.sample(sample))
        self._seeded = section
        self.ctx.log.info("uns: published the current values of %d tags", len(fresh))

    async def _on_oee(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.OeeSnapshot) and self.section.selects(msg.scope, "oee"):
            self._publish(
                payloads.oee_topic(self.section.prefix, msg.scope),
                {"timestamp_ms": msg.time.ToMilliseconds(), **payloads.plain(msg)},
            )

    async def _on_alarm(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, alerting_pb2.AlarmEvent) and self.section.selects(msg.scope, "alarms"):
            self._publish(
                payloads.alarm_topic(self.section.prefix, msg.scope, msg.rule),
                {"timestamp_ms": msg.time.ToMilliseconds(), **payloads.plain(msg)},
            )

    async def _on_downtime(self, subject: str, msg: Message, raw: Msg) -> None:
        if isinstance(msg, oee_pb2.DowntimeEvent) and self.section.selects(msg.machine, "downtime"):
            when = msg.end if msg.HasField("end") else msg.start
            self._publish(
                payloads.downtime_topic(self.section.prefix, msg.machine),
                {"timestamp_ms": when.ToMilliseconds(), **payloads.plain(msg)},
            )

    def _on_mqtt(self, reason: str, ok: bool) -> None:
        """A refused MQTT connection is audited once until the next success (its
        credentials are wrong or its user is not allowed in)."""
        was_refused, self._refused = self._refused, not ok
        if ok:
            self.ctx.log.info("uns: publishing on %s", self.url)
            return
        if was_refused:
            return
        self.ctx.log.error("uns: MQTT %s refused the connection: %s", self.url, reason)
        self.tasks.spawn(
            record_outcome(
                self.ctx.audit,
                action="uns.mqtt_connect",
                target=self.url,
                actor=self.name,
                outcome=service_pb2.AUDIT_OUTCOME_FAILED,
                detail=reason,
            ),
            name="uns-audit-connect",
        )
