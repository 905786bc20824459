"""The ERP sync service.

Work orders: each connection is polled and new or changed orders are published on
``plantbus.v1.erp.workorder.<site>.<line>``. StartWorkOrder assigns one to a machine;
the OEE service then counts its parts (and applies its ideal cycle time).

Confirmations: while an order runs, every ``confirm_interval_s`` the parts made since
the last confirmation go into the outbox with the key ``<order>:<n>``; completing the
order sends the rest with ``final``. What was confirmed is kept in KV before the entry
is enqueued, so a restart neither repeats nor skips quantities; a saved entry the outbox did
not take (NATS lost or slow) is enqueued again before the next number is taken, so the
numbers have no gaps.

Replicas: each connection is a scope (:mod:`plantbus.kit.scopes`) run by one replica at a
time under a KV lease: only its holder polls the ERP, confirms and consumes the
connection's outbox (one durable consumer, one entry at a time, so in order as with one
replica). A replica that takes a connection reloads its orders and confirmed amounts from
KV; the others answer RPCs on its orders with where to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.config import PlantConfig
from plantbus.config.erp import ErpConnection
from plantbus.erp.convert import workorder_event
from plantbus.erp.outbox import Outbox, OutboxWorker
from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import kv_key
from plantbus.kit.scopes import ScopeOwner, open_scopes
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.service import GrpcBinding, Service, ServiceContext
from plantbus.kit.tasks import cancel
from plantbus.plugins import ERP_CONNECTORS, discover, plugin_infos
from plantbus.sdk.connector import ErpConnector, WorkOrder, WorkOrderStatus
from plantbus.sdk.errors import ErpUnavailable, NotFound, PlantbusError, ValidationFailed, describe
from plantbus.v1 import erp_pb2, erp_pb2_grpc, oee_pb2, service_pb2

__all__ = ["ErpService"]

_CLOSED = frozenset({"cancelled", "completed"})
"""Order states after which the hub takes no more parts for it."""


def _key(erp_id: str) -> str:
    return "order." + kv_key(erp_id).replace(".", "_")


@contextlib.contextmanager
def _doing(what: str) -> Iterator[None]:
    """Note on an exception raised meanwhile what was being done (for the log and health)."""
    try:
        yield
    except Exception as err:
        err.add_note(what)
        raise


class Connection:
    """One configured ERP connection at run time."""

    def __init__(self, config: ErpConnection, connector: ErpConnector, worker: OutboxWorker):
        self.config = config
        self.connector = connector
        self.worker = worker
        self.cursor: str | None = None
        self.last_poll = 0.0
        self.poll_error = ""
        """The last poll's failure, until a poll succeeds."""
        self.task: asyncio.Task[None] | None = None
        self.opened = False


class ErpService(Service):
    """Keeps work orders and confirmations in step with the ERP."""

    name: ClassVar[str] = "erp"

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.plugins = discover(ERP_CONNECTORS)
        self.connections: dict[str, Connection] = {}
        self.orders: dict[str, erp_pb2.WorkOrderEvent] = {}
        self.confirmed: dict[str, dict[str, float]] = {}
        self.demo = bool(ctx.options.get("demo", False))
        self._kv: KeyValue | None = None
        self._outbox: Outbox | None = None
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._last_confirm: dict[str, float] = {}
        self._confirming = asyncio.Lock()
        self._unsent: dict[str, int] = {}
        """Per order, the number of a confirmation saved (or being saved) in KV that the
        outbox may not hold yet."""
        self.confirm_errors: dict[str, str] = {}
        """Per order, the last periodic confirmation's failure, until one succeeds."""
        self._scopes: ScopeOwner | None = None

    @property
    def outbox(self) -> Outbox:
        """The confirmation outbox (after start)."""
        assert self._outbox is not None
        return self._outbox

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
        self._subs.append(await self.ctx.bus.subscribe(f"{subjects.PREFIX}.oee.>", self._on_oee))
        self._tasks.append(asyncio.create_task(self._confirm_loop(), name="erp-confirm"))
        self._scopes = await open_scopes(self.ctx, self)
        self._scopes.start()

    def holds(self, connection: str) -> bool:
        """Whether this replica runs ``connection`` now (checked before acting for it)."""
        return self._scopes is not None and self._scopes.holds(connection)

    async def _load_orders(self, connections: set[str]) -> None:
        """The orders of ``connections`` as the last holder saved them."""
        assert self._kv is not None
        with contextlib.suppress(Exception):  # empty bucket
            for key in await self._kv.keys():
                if key.startswith("order.") and not key.endswith(".confirmed"):
                    entry = await self._kv.get(key)
                    if entry.value:
                        saved = erp_pb2.WorkOrderEvent.FromString(entry.value)
                        if saved.connection in connections:
                            self.orders[saved.erp_id] = saved

    async def take(self, scopes: set[str]) -> None:
        """Run these connections here: their orders from KV, then outbox and polling."""
        await self._load_orders(scopes)
        await self._resend_last_confirmations(scopes)
        for name in sorted(scopes):
            conn = self.connections.get(name)
            if conn is None:
                continue
            await conn.worker.start()
            conn.task = asyncio.create_task(self._poll_loop(conn), name=f"erp-poll-{name}")

    async def drop(self, scopes: set[str], *, save: bool) -> None:
        """Stop polling and delivering for these connections (their state is in KV)."""
        for name in scopes:
            if name in self.connections:
                await self._pause(self.connections[name])

    async def stop(self) -> None:
        """Stop polling and delivering; the outbox keeps what was not delivered."""
        if self._scopes is not None:
            await self._scopes.stop()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await cancel(self._tasks)
        for conn in self.connections.values():
            await self._close(conn)

    async def _pause(self, conn: Connection) -> None:
        if conn.task:
            await cancel(conn.task)
            conn.task = None
        await conn.worker.stop()

    async def _close(self, conn: Connection) -> None:
        await self._pause(conn)
        with contextlib.suppress(Exception):
            await conn.connector.close()

    async def apply_config(self, config: PlantConfig, version: int) -> None:
        """Open new connections, close removed or changed ones."""
        wanted = {c.name: c for c in config.erp}
        for name in list(self.connections):
            if name not in wanted or wanted[name] != self.connections[name].config:
                await self._close(self.connections.pop(name))
        for name, cfg in wanted.items():
            if name in self.connections:
                continue
            try:
                cls = self.plugins.get(cfg.connector)
                connector = cls(plugin_settings(cls, cfg.settings))
            except (PlantbusError, ValueError) as err:
                self.ctx.log.error("ERP connection %s cannot run: %s", name, err)
                continue
            worker = OutboxWorker(self.outbox, name, connector, redelivery_s=cfg.redelivery_s)
            self.connections[name] = Connection(cfg, connector, worker)
            if self._scopes is not None and name in self._scopes.running:
                await self.take({name})  # a changed connection this replica runs
        if self._scopes is not None:
            self._scopes.configure(self.connections)
        self.config_version = version

    async def _poll_loop(self, conn: Connection) -> None:
        while True:
            try:
                if not conn.opened:
                    await conn.connector.open()
                    if self.demo:
                        await conn.connector.seed_demo()
                    conn.opened = True
                orders, cursor = await conn.connector.list_work_orders(conn.cursor)
                for order in orders:
                    await self._received(conn, order)
                conn.cursor, conn.last_poll = cursor, time.time()  # only once all are kept
                if self.demo:
                    await self._demo_step(conn)
            except Exception as err:  # noqa: BLE001 - the plugin boundary: whatever a connector (or NATS while publishing) raises, polling goes on
                self._poll_failed(conn, err)
            else:
                if conn.poll_error:
                    self.ctx.log.info("ERP %s polled again", conn.config.name)
                    conn.poll_error = ""
            await asyncio.sleep(conn.config.poll_interval_s)

    def _poll_failed(self, conn: Connection, err: Exception) -> None:
        """Keep the error for health and SyncStatus; log each distinct one once."""
        expected = isinstance(err, PlantbusError)
        message = describe(err) if expected else f"{type(err).__name__}: {describe(err)}"
        conn.worker.last_error = message
        if message == conn.poll_error:
            return
        conn.poll_error = message
        if expected:
            self.ctx.log.warning("ERP %s poll failed: %s", conn.config.name, message)
        else:  # a connector's bug: its traceback helps its author
            self.ctx.log.error(
                "ERP %s poll failed (connector %s): %s",
                conn.config.name,
                conn.config.connector,
                message,
                exc_info=err,
            )

    def health(self) -> tuple[bool, str]:
        """Serving once this replica runs its share of the connections (readiness); the
        detail names the share, each connection whose polling fails and each order whose
        confirmation fails, and why."""
        failing = [f"ERP {n}: {c.poll_error}" for n, c in self.connections.items() if c.poll_error]
        failing += [f"work order {o}: {e}" for o, e in self.confirm_errors.items()]
        if self._scopes is None:
            return True, "; ".join(failing)
        detail = "; ".join(d for d in (self._scopes.describe(), *failing) if d)
        return self._scopes.settled(), detail

    async def _received(self, conn: Connection, order: WorkOrder) -> None:
        """Take a new or changed order; the hub keeps its own progress, but an order the
        ERP closed (cancelled, or completed there) is closed here too."""
        known = self.orders.get(order.erp_id)
        event = workorder_event(order, conn.config.name)
        if known is None and event.status in _CLOSED:
            return  # closed in the ERP before the hub ever saw it released
        if known is not None:
            closed = event.status in _CLOSED and event.status != known.status
            fields = ("number", "quantity", "product_code")
            if not closed and all(getattr(known, f) == getattr(event, f) for f in fields):
                return
            if closed:
                self.ctx.log.warning(
                    "work order %s is %s in ERP %s", order.erp_id, event.status, conn.config.name
                )
            else:
                event.status = known.status
            event.machine = known.machine
            event.started.CopyFrom(known.started)
            event.produced, event.good_quantity = known.produced, known.good_quantity
            event.scrap_quantity = known.scrap_quantity
        await self._store(conn.config, event)

    async def _store(self, cfg: ErpConnection, event: erp_pb2.WorkOrderEvent) -> None:
        self._fence(cfg.name)
        self.orders[event.erp_id] = event
        if self._kv is not None:
            await self._kv.put(_key(event.erp_id), event.SerializeToString())
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
        await conn.connector.set_status(erp_id, WorkOrderStatus.RUNNING)
        event.status, event.machine = "running", machine
        event.started.CopyFrom(codec.now())
        self._last_confirm[erp_id] = time.time()
        await self._store(conn.config, event)
        await self.ctx.audit(
            action="workorder.start", target=erp_id, actor=actor, detail=f"on {machine}"
        )
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
        self.confirmed.setdefault(event.erp_id, {})["run_s"] = msg.order_run_s
        self.confirmed[event.erp_id]["down_s"] = msg.order_down_s

    async def confirm(self, event: erp_pb2.WorkOrderEvent, final: bool) -> None:
        """Enqueue what was made since the last confirmation (idempotency key order:n).
        One at a time, and a number saved in KV is in the outbox before the next is taken;
        nothing follows a final one."""
        async with self._confirming:
            conn = self._connection(event)
            with _doing(f"reading what was confirmed of {event.erp_id} from KV"):
                done = await self._confirmed_so_far(event.erp_id)
            last = _saved(done)
            if self._unsent.get(event.erp_id) == int(done["n"]) and last is not None:
                await self._send(conn.config, last)  # the outbox drops a repeat by its msg id
            self._unsent.pop(event.erp_id, None)  # sent, or never saved: its number is free
            if last is not None and last.final:
                return
            await self._confirm_next(conn, event, done, final)

    async def _confirm_next(
        self, conn: Connection, event: erp_pb2.WorkOrderEvent, done: dict[str, Any], final: bool
    ) -> None:
        good = event.good_quantity - done["good"]
        scrap = event.scrap_quantity - done["scrap"]
        if not final and good <= 0 and scrap <= 0:
            return
        n = int(done["n"]) + 1
        times = self.confirmed.get(event.erp_id, {})
        confirmation = erp_pb2.Confirmation(
            idempotency_key=f"{event.erp_id}:{n}",
            connection=conn.config.name,
            work_order_erp_id=event.erp_id,
            machine=event.machine,
            good_quantity=good,
            scrap_quantity=scrap,
            start=event.started,
            end=codec.now(),
            run_seconds=times.get("run_s", 0.0),
            downtime_seconds=times.get("down_s", 0.0),
            final=final,
            sequence=n,
            total_good=event.good_quantity,
            total_scrap=event.scrap_quantity,
        )
        # remember first: after a crash the same key is re-sent, never a new one
        doc = {
            "n": n,
            "good": event.good_quantity,
            "scrap": event.scrap_quantity,
            "last": confirmation.SerializeToString().hex(),
        }
        assert self._kv is not None
        self._unsent[event.erp_id] = n  # before the put: a put that timed out may be stored
        with _doing(f"saving confirmation {confirmation.idempotency_key} in KV"):
            await self._kv.put(_key(event.erp_id) + ".confirmed", json.dumps(doc).encode())
        self._fence(conn.config.name)  # lost meanwhile: the new holder re-sends it on taking
        await self._send(conn.config, confirmation)

    async def _send(self, cfg: ErpConnection, confirmation: erp_pb2.Confirmation) -> None:
        """Enqueue a saved confirmation and tell the line."""
        key = confirmation.idempotency_key
        with _doing(f"enqueueing confirmation {key} into {streams.ERP_OUTBOX.name}"):
            await self.outbox.enqueue(confirmation)
        self._unsent.pop(confirmation.work_order_erp_id, None)
        await self.ctx.bus.publish(subjects.confirmation(cfg.site, cfg.line), confirmation)

    async def _confirmed_so_far(self, erp_id: str) -> dict[str, Any]:
        assert self._kv is not None
        try:
            entry = await self._kv.get(_key(erp_id) + ".confirmed")
        except KeyNotFoundError:
            return {"n": 0, "good": 0.0, "scrap": 0.0, "last": ""}
        return dict(json.loads(entry.value or b"{}"))

    async def _resend_last_confirmations(self, connections: set[str]) -> None:
        """On taking a connection: a confirmation stored but maybe never enqueued goes out
        again (the outbox and the connector both drop it if it had been)."""
        for erp_id, order in list(self.orders.items()):
            if order.connection not in connections:
                continue
            last = _saved(await self._confirmed_so_far(erp_id))
            if last is not None:
                await self.outbox.enqueue(last)

    async def complete(self, erp_id: str, actor: str) -> erp_pb2.WorkOrderEvent:
        """Send the final confirmation and report the order completed; audited."""
        event = self.order(erp_id)
        if event.status != "running":
            raise ValidationFailed(f"work order {erp_id} is {event.status}, not running")
        await self.confirm(event, final=True)
        conn = self._connection(event)
        await conn.connector.set_status(erp_id, WorkOrderStatus.COMPLETED)
        event.status = "completed"
        await self._store(conn.config, event)
        await self.ctx.audit(
            action="workorder.complete",
            target=erp_id,
            actor=actor,
            detail=f"good {event.good_quantity:g}, scrap {event.scrap_quantity:g}",
        )
        return event

    async def _confirm_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            for event in list(self.orders.values()):
                conn = self.connections.get(event.connection)
                if event.status != "running" or conn is None or not self.holds(conn.config.name):
                    continue
                if now - self._last_confirm.get(event.erp_id, 0) >= conn.config.confirm_interval_s:
                    await self._confirm_due(event, now)

    async def _confirm_due(self, event: erp_pb2.WorkOrderEvent, now: float) -> None:
        """A periodic confirmation. Whatever fails (NATS lost or slow: the KV or the outbox),
        the loop goes on and the order stays due, so it is tried again the next second."""
        try:
            await self.confirm(event, final=False)
        except Exception as err:  # noqa: BLE001 - confirming must outlive any bus error
            self._confirm_failed(event.erp_id, err)
            return
        self._last_confirm[event.erp_id] = now
        if self.confirm_errors.pop(event.erp_id, None):
            self.ctx.log.info("work order %s confirmed again", event.erp_id)

    def _confirm_failed(self, erp_id: str, err: Exception) -> None:
        """Keep the error for health; log each distinct one once (with its traceback when
        neither NATS, Plantbus nor the OS raised it: a bug)."""
        what = "; ".join(getattr(err, "__notes__", ())) or "confirming"
        message = f"{what} failed: {type(err).__name__}: {describe(err)}"
        if self.confirm_errors.get(erp_id) == message:
            return
        self.confirm_errors[erp_id] = message
        expected = isinstance(err, (NatsError, PlantbusError, OSError))
        self.ctx.log.warning(
            "work order %s: %s; trying again every second",
            erp_id,
            message,
            exc_info=None if expected else err,
        )

    async def _demo_step(self, conn: Connection) -> None:
        """Demo only: keep m1 busy with the next released order; complete it at quantity."""
        line = f"{conn.config.site}/machining/{conn.config.line}"
        machine = f"{line}/m1"
        mine = [o for o in self.orders.values() if o.connection == conn.config.name]
        running = [o for o in mine if o.status == "running" and o.machine == machine]
        for order in running:
            if order.good_quantity >= order.quantity:
                await self.complete(order.erp_id, "demo")
        if not running:
            released = sorted((o for o in mine if o.status == "released"), key=lambda o: o.erp_id)
            if released:
                await self.start_order(released[0].erp_id, machine, "demo")


def _saved(done: dict[str, Any]) -> erp_pb2.Confirmation | None:
    """The last confirmation saved with what was confirmed of an order."""
    last = done.get("last")
    return erp_pb2.Confirmation.FromString(bytes.fromhex(last)) if last else None
