"""The Sparkplug B bridge: the hub as one edge node on an MQTT broker (docs/sparkplug.md).

Telemetry comes from ``PLANTBUS_CYCLES`` through an ordered consumer that starts one
``refresh_s`` (the longest of the config's devices) back, so the first births carry the
current value of every tag (a device publishes each tag at least that often, changed or
not), and only while
the config has a ``sparkplug:`` section (idle, the bridge reads nothing: at 5,000 samples
a second, reading them cost it 18 CPU-ms per 1,000 for no one); the edge node
(:mod:`plantbus.sparkplug.node`) decides what each sample publishes. Each MQTT session
(:mod:`plantbus.sparkplug.mqtt`) registers its NDEATH as the Will with a new bdSeq, kept
in the data dir so a restarted bridge goes on counting; a session that ends is replaced
after a back-off.

Commands: an NCMD ``Node Control/Rebirth`` repeats every birth; each DCMD metric is a
``WriteTag`` call to the device service over gRPC, as the user ``sparkplug.user`` (the
bridge's certificate may act for that user only), so the same policies decide and the
device service audits it like any other write; the bridge audits each command's outcome.

Without a ``sparkplug:`` section the service runs idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import ClassVar

import nats.errors
from google.protobuf.message import DecodeError
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.config import PlantConfig
from plantbus.config.sparkplug import SparkplugConfig
from plantbus.kit import streams, subjects, tagfeed, tasks
from plantbus.kit.audit import record_outcome
from plantbus.kit.codec import tag_value
from plantbus.kit.secrets import resolve
from plantbus.kit.service import Service, ServiceContext
from plantbus.kit.tagwrite import DENIED, SUCCESS, write_tag
from plantbus.sdk.errors import PlantbusError
from plantbus.sparkplug.mqtt import Session, next_bdseq
from plantbus.sparkplug.node import EdgeNode, Outgoing, Refused, Write
from plantbus.v1 import device_pb2, telemetry_pb2

__all__ = ["SparkplugService"]

_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
_CATCH_UP_S = 3.0
"""How long the first births wait for the last value of every tag."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _connection(section: SparkplugConfig) -> tuple[object, ...]:
    """What a session depends on: a change means a new session."""
    return (section.broker, section.group_id, section.edge_node_id)


class SparkplugService(Service):
    """Publishes the configured devices to Sparkplug hosts and takes their commands."""

    name: ClassVar[str] = "sparkplug"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"sparkplug", "devices"})

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.node: EdgeNode | None = None
        self.latest: dict[str, telemetry_pb2.TagSample] = {}
        """The last sample of every tag: what a node made for a new config version starts
        from (samples arrive before the first version does)."""
        self.session: Session | None = None
        self.state = "no sparkplug section in the config: idle"
        self.counters = {"published": 0, "commands": 0, "writes": 0, "refused": 0}
        self._caught_up = asyncio.Event()
        self._commands: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=1000)
        self._session_task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None

    def health(self) -> tuple[bool, str]:
        """Serving (the bridge runs whether or not a broker answers); the detail says
        whether it is connected, and why not, and what it has done."""
        if self.node is None:
            return True, self.state
        done = self.counters
        return True, (
            f"{self.state}; {done['published']} messages published, {done['commands']} "
            f"commands ({done['writes']} writes, {done['refused']} refused)"
        )

    async def start(self) -> None:
        """Take commands (telemetry is followed once a config has a section)."""
        await streams.ensure_stream(self.ctx.bus, streams.CYCLES)
        self.tasks.spawn(self._take_commands(), name="sparkplug-cmd")

    async def _follow(self, config: PlantConfig) -> None:
        """Follow telemetry (once) from far enough back that every tag of ``config`` is
        in it: one ``refresh_s`` of its devices, and a little more."""
        if self._sub is None:
            self._caught_up.clear()
            since = tagfeed.current_since(config.devices)
            self._sub = await self.ctx.bus.js.subscribe(
                f"{subjects.PREFIX}.cycle.>",
                stream=streams.CYCLES.name,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since
                ),
                cb=self._on_telemetry,
            )

    async def _unfollow(self) -> None:
        """Stop following telemetry and forget the values read."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):  # the connection is gone already
                await sub.unsubscribe()
        self.latest.clear()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """A new section or broker: a new session; new devices or tags: a rebirth."""
        section = config.sparkplug
        old = self.node
        if section is None:
            await self._end_session()
            await self._unfollow()
            self.node = None
            self.state = "no sparkplug section in the config: idle"
        else:
            await self._follow(config)
            node = EdgeNode(section, config.devices)
            node.samples(self.latest.values(), _now_ms())  # offline: only takes the values
            if old is None or _connection(old.section) != _connection(section):
                await self._end_session()
                self.node = node
                self._session_task = self.tasks.spawn(self._sessions(), name="sparkplug")
            elif node.layout() == old.layout():
                old.section = section  # the same metrics: only user or commands changed
            else:
                node.bdseq = old.bdseq
                self.node = node
                if old.online:
                    self._publish(node.births(_now_ms()))  # a rebirth: new metrics
        self.config_version = version

    async def stop(self) -> None:
        """Publish NDEATH and disconnect; stop following telemetry."""
        await self._end_session()
        await self._unfollow()
        await super().stop()

    # telemetry ------------------------------------------------------------------------
    async def _on_telemetry(self, msg: Msg) -> None:
        if msg.metadata.num_pending == 0:
            self._caught_up.set()
        try:
            batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        except DecodeError:  # a bad payload is skipped, never fatal
            self.ctx.log.warning("skipped undecodable telemetry on %s", msg.subject)
            return
        for sample in batch.samples:
            self.latest[sample.path] = sample
        if self.node is not None:
            self._publish(self.node.samples(batch.samples, _now_ms()))

    def _publish(self, messages: list[Outgoing]) -> None:
        if self.session is None:
            return
        for message in messages:
            self.session.publish(message)
        self.counters["published"] += len(messages)

    # MQTT sessions --------------------------------------------------------------------
    async def _sessions(self) -> None:
        """Connect, birth, serve until the session ends; again after a back-off."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), _CATCH_UP_S)
        attempt = 0
        while (node := self.node) is not None:
            broker = node.section.broker
            try:
                session = await self._connect(node)
            except (PlantbusError, OSError) as err:
                self.state = f"not connected to {broker.url}: {err}; retrying"
                if attempt == 0:
                    self.ctx.log.warning("sparkplug: %s", self.state)
                await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            session.subscribe(node.topic("NCMD"), node.topic("DCMD", "+"))
            self.session = session
            self._publish(node.births(_now_ms()))
            self.state = f"connected to {broker.url} as {node.topic('NBIRTH')} (bdSeq {node.bdseq})"
            self.ctx.log.info("sparkplug: %s", self.state)
            try:
                reason = await session.closed()
            finally:
                if self.session is session:
                    self.session = None
                if self.node is not None:
                    self.node.offline()
            self.state = f"disconnected from {broker.url} ({reason}); reconnecting"
            self.ctx.log.warning("sparkplug: %s", self.state)
            await asyncio.sleep(_BACKOFF_S[0])

    async def _connect(self, node: EdgeNode) -> Session:
        """A new session with the NDEATH of the next bdSeq as its Will."""
        broker = node.section.broker
        password = resolve(broker.password) if broker.password else ""
        will = node.will(next_bdseq(self.ctx.data_dir / "bdseq"), _now_ms())
        client_id = (
            broker.client_id or f"plantbus-{node.section.group_id}-{node.section.edge_node_id}"
        )
        session = Session(broker, client_id, password, will, self._on_mqtt)
        try:
            await session.connect()
        except asyncio.CancelledError:  # a new config or shutdown while connecting
            await session.close()
            raise
        return session

    async def _end_session(self) -> None:
        """Stop the session loop; a connected session publishes its NDEATH first."""
        task, self._session_task = self._session_task, None
        session, self.session = self.session, None
        await tasks.cancel(task)
        if session is not None and self.node is not None:
            self.node.offline()
            await session.close(last=self.node.will(self.node.bdseq, _now_ms()))

    # commands -------------------------------------------------------------------------
    def _on_mqtt(self, topic: str, payload: bytes) -> None:
        try:
            self._commands.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self.ctx.log.warning("sparkplug: command on %s dropped: too many waiting", topic)

    async def _take_commands(self) -> None:
        while True:
            topic, payload = await self._commands.get()
            try:
                await self._command(topic, payload)
            except PlantbusError as err:
                self.ctx.log.warning("sparkplug: command on %s failed: %s", topic, err)
            except DecodeError:  # a malformed command never stops the bridge
                self.ctx.log.warning("sparkplug: undecodable command on %s", topic)

    async def _command(self, topic: str, payload: bytes) -> None:
        node = self.node
        if node is None:
            return
        self.counters["commands"] += 1
        user = node.section.user
        if topic == node.topic("NCMD"):
            if node.rebirth_requested(payload):
                await record_outcome(
                    self.ctx.audit,
                    action="sparkplug.rebirth",
                    target=node.topic("NBIRTH"),
                    actor=user,
                    outcome=SUCCESS,
                    detail="NCMD Node Control/Rebirth",
                )
                if node.online:
                    self._publish(node.births(_now_ms()))
            return
        prefix = node.topic("DCMD") + "/"
        if topic.startswith(prefix):
            for item in node.writes(topic.removeprefix(prefix), payload):
                await self._write(node, item)

    async def _write(self, node: EdgeNode, item: Write | Refused) -> None:
        user = node.section.user
        if isinstance(item, Refused):
            target, outcome, detail = f"{item.device}/{item.metric}", DENIED, item.reason
        elif node.section.commands == "ignore":
            target, outcome, detail = item.path, DENIED, "sparkplug.commands is ignore"
        else:
            target = item.path
            request = device_pb2.WriteTagRequest(
                device=item.device,
                tag=item.tag,
                value=tag_value(item.value),
                reason="Sparkplug DCMD",
            )
            outcome, detail = await write_tag(self.ctx.bus, self.ctx.grpc_tls, request, user)
        if outcome == SUCCESS:
            self.counters["writes"] += 1
        else:
            self.counters["refused"] += 1
            self.ctx.log.warning("sparkplug: DCMD on %s refused: %s", target, detail)
        await record_outcome(
            self.ctx.audit,
            action="sparkplug.dcmd",
            target=target,
            actor=user,
            outcome=outcome,
            detail=detail,
        )
