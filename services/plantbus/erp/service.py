"""The ERP sync service.

Work orders: each connection is polled and new or changed orders are published on
``plantbus.v1.erp.workorder.<site>.<line>`` (:mod:`plantbus.erp.orders` says what is
taken). StartWorkOrder assigns one to a machine; the OEE service then counts its parts
(and applies its ideal cycle time). Confirmations go out through the outbox
(:mod:`plantbus.erp.confirming`, :mod:`plantbus.erp.outbox`).

Replicas: each connection is a scope (:mod:`plantbus.kit.scopes`) run by one replica at a
time under a KV lease: only its holder polls the ERP, confirms and consumes the
connection's outbox (one durable consumer, one entry at a time, so in order as with one
replica). A replica that takes a connection reloads its orders and confirmed amounts from
KV; the others answer RPCs on its orders with where to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from functools import partial
from typing import ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.config.erp import ErpConnection
from plantbus.erp.confirming import Confirmations
from plantbus.erp.connection import Connection, open_connection
from plantbus.erp.convert import workorder_event
from plantbus.erp.orders import demo_moves, merged
from plantbus.erp.outbox import Outbox
from plantbus.erp.state import load_orders, order_key
from plantbus.kit import codec, streams, subjects
from plantbus.kit.audit import attempted
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.plugins import ERP_CONNECTORS, discover, plugin_infos
from plantbus.sdk.connector import WorkOrder, WorkOrderStatus
from plantbus.sdk.errors import ErpUnavailable, NotFound, PlantbusError, ValidationFailed
from plantbus.v1 import erp_pb2, erp_pb2_grpc, oee_pb2, service_pb2

__all__ = ["ErpService"]


class ErpService(Service):
    """Keeps work orders and confirmations in step with the ERP."""

    name: ClassVar[str] = "erp"
    config_sections: ClassVar[frozenset[str] | None] = frozenset({"erp"})

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.plugins = discover(ERP_CONNECTORS, lazy=True)
        self.connections: dict[str, Connection] = {}
        self.orders: dict[str, erp_pb2.WorkOrderEvent] = {}
        self.demo = bool(ctx.options.get("demo", False))
        self._kv: KeyValue | None = None
        self._outbox: Outbox | None = None
        self._confirmations: Confirmations | None = None
        self._subs: list[Subscription] = []
        self._scopes: ScopeOwner | None = None

    @property
    def outbox(self) -> Outbox:
        """The confirmation outbox (after start)."""
        assert self._outbox is not None
        return self._outbox

    @property
    def confirmations(self) -> Confirmations:
        """The running orders' confirmations (after start)."""
        assert self._confirmations is not None
        return self._confirmations

    def grpc_bindings(self) -> Sequence[GrpcBinding]:
        """The ErpService servicer."""
        from plantbus.erp.servicer import ErpServicer

        return [
            GrpcBinding(
                erp_pb2_grpc.add_ErpServiceServicer_to_server,
                ErpServicer(self),
                "plantbus.v1.ErpService",
            )
        ]

    def plugin_infos(self) -> Sequence[service_pb2.PluginInfo]:
        """Every ERP connector plugin, loaded or not."""
        return plugin_infos(self.plugins)

    async def start(self) -> None:
        """Open the outbox; follow OEE snapshots; take connections as this replica's share
        (each loads its orders and confirmed amounts)."""
        self._kv = await streams.open_bucket(self.ctx.bus, streams.ERP_STATE)
        self._outbox = await Outbox.open(self.ctx.bus, self._kv)
        self._confirmations = Confirmations(
            self.ctx.bus, self._kv, self._outbox, self._fence, self.ctx.log
        )
        self._subs.append(await self.ctx.bus.subscribe(f"{subjects.PREFIX}.oee.>", self._on_oee))
        self.tasks.spawn(self._confirm_loop(), name="erp-confirm")
        self._scopes = await open_scopes(self.ctx, self)
        self._scopes.start()

    def holds(self, connection: str) -> bool:
        """Whether this replica runs ``connection`` now (checked before acting for it)."""
        return self._scopes is not None and self._scopes.holds(connection)

    async def take(self, scopes: set[str]) -> None:
        """Run these connections here: their orders from KV, then outbox and polling."""
        assert self._kv is not None
        self.orders.update((o.erp_id, o) for o in await load_orders(self._kv, scopes))
        mine = [o for o in self.orders.values() if o.connection in scopes]
        await self.confirmations.resend_last(mine)
        for name in sorted(scopes):
            if (conn := self.connections.get(name)) is not None:
                demo = partial(self._demo_step, conn) if self.demo else None
                await conn.resume(self.tasks, partial(self._received, conn), demo, self.ctx.log)

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop polling and delivering for these connections (their state is in KV)."""
        for name in scopes:
            if name in self.connections:
                await self.connections[name].pause()

    async def stop(self) -> None:
        """Stop polling and delivering; the outbox keeps what was not delivered."""
        if self._scopes is not None:
            await self._scopes.stop()
        for sub in self._subs:
            with contextlib.suppress(NatsError):  # the connection closed, or unsubscribed
                await sub.unsubscribe()
        self._subs = []
        for conn in self.connections.values():
            await conn.close(self.ctx.log)
        await super().stop()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Open new connections, close removed or changed ones."""
        wanted = {c.name: c for c in config.erp}
        for name in list(self.connections):
            if name not in wanted or wanted[name] != self.connections[name].config:
                await self.connections.pop(name).close(self.ctx.log)
        for name, cfg in wanted.items():
            if name in self.connections:
                continue
            try:
                self.connections[name] = open_connection(self.plugins, cfg, self.outbox)
            except (PlantbusError, ValueError) as err:
                self.ctx.log.error("ERP connection %s cannot run: %s", name, err)
                continue
            if self._scopes is not None and name in self._scopes.running:
                await self.take({name})  # a changed connection this replica runs
        if self._scopes is not None:
            self._scopes.configure(self.connections)
        self.config_version = version

    def health(self) -> tuple[bool, str]:
        """Serving once this replica runs its share of the connections (readiness); the
        detail names the share, each connection whose polling fails and each order whose
        confirmation fails, and why."""
        failing = [f"ERP {n}: {c.poll_error}" for n, c in self.connections.items() if c.poll_error]
        errors = self._confirmations.errors if self._confirmations is not None else {}
        failing += [f"work order {o}: {e}" for o, e in errors.items()]
        if self._scopes is None:
            return True, "; ".join(failing)
        detail = "; ".join(d for d in (self._scopes.describe(), *failing) if d)
        return self._scopes.settled(), detail

    async def _received(self, conn: Connection, order: WorkOrder) -> None:
        """Take a new or changed order (see :func:`plantbus.erp.orders.merged`)."""
        known = self.orders.get(order.erp_id)
        event = merged(known, workorder_event(order, conn.config.name))
        if event is None:
            return
        if known is not None and event.status != known.status:
            self.ctx.log.warning(
                "work order %s is %s in ERP %s", order.erp_id, event.status, conn.config.name
            )
        await self._store(conn.config, event)

    async def _store(self, cfg: ErpConnection, event: erp_pb2.WorkOrderEvent) -> None:
        self._fence(cfg.name)
        self.orders[event.erp_id] = event
        if self._kv is not None:
            await self._kv.put(order_key(event.erp_id), event.SerializeToString())
        await self.ctx.bus.publish(subjects.workorder(cfg.site, cfg.line), event)

    def _connection(self, event: erp_pb2.WorkOrderEvent) -> Connection:
        conn = self.connections.get(event.connection)
        if conn is None:
            raise NotFound(f"ERP connection {event.connection!r} of {event.erp_id} is not open")
        self._fence(conn.config.name)
        return conn

    def _fence(self, connection: str) -> None:
        """Refuse to act for a connection another replica runs (or this one lost)."""
        if self._scopes is not None and not self.holds(connection):
            raise ErpUnavailable(
                f"ERP connection {connection!r} is run by another erp replica right now "
                f"(this is {self.ctx.instance!r}): try again, another replica answers"
            )

    def order(self, erp_id: str) -> erp_pb2.WorkOrderEvent:
        """A known work order; NotFound otherwise."""
        if erp_id not in self.orders:
            raise NotFound(f"no work order {erp_id!r} (plantbus erp orders lists them)")
        return self.orders[erp_id]

    async def start_order(self, erp_id: str, machine: str, actor: str) -> erp_pb2.WorkOrderEvent:
        """Assign an order to a machine and report it running; audited."""
        event = self.order(erp_id)
        if event.status not in ("released", "planned"):
            raise ValidationFailed(f"work order {erp_id} is {event.status}, not released")
        if machine.count("/") != 3:
            raise ValidationFailed(f"machine {machine!r}: use site/area/line/machine")
        busy = [
            o.erp_id for o in self.orders.values() if o.machine == machine and o.status == "running"
        ]
        if busy:
            raise ValidationFailed(f"{machine} is already running {busy[0]}")
        conn = self._connection(event)
        audit = partial(attempted, self.ctx.audit, target=erp_id, actor=actor)
        async with audit(action="workorder.start", detail=f"on {machine}"):
            await conn.connector.set_status(erp_id, WorkOrderStatus.RUNNING)
            event.status, event.machine = "running", machine
            event.started.CopyFrom(codec.now())
            self.confirmations.last[erp_id] = time.time()
            await self._store(conn.config, event)
        return event

    async def _on_oee(self, subject: str, msg: Message, raw: Msg) -> None:
        if not isinstance(msg, oee_pb2.OeeSnapshot) or not msg.work_order:
            return
        event = self.orders.get(msg.work_order)
        if event is None or event.status != "running" or event.machine != msg.scope:
            return
        event.produced = msg.order_total_count
        event.good_quantity = msg.order_good_count
        event.scrap_quantity = msg.order_total_count - msg.order_good_count
        times = {"run_s": msg.order_run_s, "down_s": msg.order_down_s}
        self.confirmations.times[event.erp_id] = times

    async def confirm(self, event: erp_pb2.WorkOrderEvent, final: bool) -> None:
        """Enqueue what was made of ``event`` since its last confirmation."""
        await self.confirmations.confirm(self._connection(event).config, event, final)

    async def complete(self, erp_id: str, actor: str) -> erp_pb2.WorkOrderEvent:
        """Send the final confirmation and report the order completed; audited."""
        event = self.order(erp_id)
        if event.status != "running":
            raise ValidationFailed(f"work order {erp_id} is {event.status}, not running")
        async with attempted(
            self.ctx.audit, action="workorder.complete", target=erp_id, actor=actor
        ) as outcome:
            await self.confirm(event, final=True)
            conn = self._connection(event)
            await conn.connector.set_status(erp_id, WorkOrderStatus.COMPLETED)
            event.status = "completed"
            await self._store(conn.config, event)
            outcome.detail = f"good {event.good_quantity:g}, scrap {event.scrap_quantity:g}"
        return event

    async def _confirm_loop(self) -> None:
        """Every second, confirm each running order of a connection run here once its
        ``confirm_interval_s`` passed since the last confirmation."""
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            for event in list(self.orders.values()):
                conn = self.connections.get(event.connection)
                if event.status != "running" or conn is None or not self.holds(conn.config.name):
                    continue
                since = now - self.confirmations.last.get(event.erp_id, 0)
                if since >= conn.config.confirm_interval_s:
                    await self.confirmations.due(conn.config, event, now)

    async def _demo_step(self, conn: Connection) -> None:
        """Demo only: keep m1 busy with the next released order; complete it at quantity."""
        machine = f"{conn.config.site}/machining/{conn.config.line}/m1"
        done, start = demo_moves(self.orders.values(), conn.config.name, machine)
        for erp_id in done:
            await self.complete(erp_id, "demo")
        if start is not None:
            await self.start_order(start, machine, "demo")
