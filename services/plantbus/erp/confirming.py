"""Confirmations of the orders this replica runs, numbered without gaps.

While an order runs, every ``confirm_interval_s`` the parts made since the last
confirmation go into the outbox with the key ``<order>:<n>``; completing the order sends
the rest with ``final``. What was confirmed is kept in KV before the entry is enqueued, so
a restart neither repeats nor skips quantities; a saved entry the outbox did not take
(NATS lost or slow) is enqueued again before the next number is taken, so the numbers have
no gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nats.errors import Error as NatsError
from nats.js.kv import KeyValue

from plantbus.config.erp import ErpConnection
from plantbus.erp.outbox import Outbox
from plantbus.erp.state import save_confirmed, saved_confirmed
from plantbus.kit import codec, streams, subjects
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import PlantbusError, describe
from plantbus.v1 import erp_pb2

__all__ = ["Confirmations"]


@contextlib.contextmanager
def _doing(what: str) -> Iterator[None]:
    """Note on an exception raised meanwhile what was being done (for the log and health)."""
    try:
        yield
    except Exception as err:
        err.add_note(what)
        raise


def _saved(done: dict[str, Any]) -> erp_pb2.Confirmation | None:
    """The last confirmation saved with what was confirmed of an order."""
    last = done.get("last")
    return erp_pb2.Confirmation.FromString(bytes.fromhex(last)) if last else None


def _confirmation(
    connection: str,
    event: erp_pb2.WorkOrderEvent,
    n: int,
    made: tuple[float, float],
    times: dict[str, float],
    final: bool,
) -> erp_pb2.Confirmation:
    """The ``n``-th confirmation of an order: ``made`` (good, scrap) since the last one."""
    return erp_pb2.Confirmation(
        idempotency_key=f"{event.erp_id}:{n}",
        connection=connection,
        work_order_erp_id=event.erp_id,
        machine=event.machine,
        good_quantity=made[0],
        scrap_quantity=made[1],
        start=event.started,
        end=codec.now(),
        run_seconds=times.get("run_s", 0.0),
        downtime_seconds=times.get("down_s", 0.0),
        final=final,
        sequence=n,
        total_good=event.good_quantity,
        total_scrap=event.scrap_quantity,
    )


@dataclass
class Confirmations:
    """Confirms the running orders; ``fence(connection)`` raises when this replica does
    not run the connection (any more)."""

    bus: Bus
    kv: KeyValue
    outbox: Outbox
    fence: Callable[[str], None]
    log: logging.Logger
    times: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per order, its run and down time so far (``run_s``, ``down_s``), from OEE."""
    last: dict[str, float] = field(default_factory=dict)
    """Per order, when it was last confirmed (or started)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Per order, the last periodic confirmation's failure, until one succeeds."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _unsent: dict[str, int] = field(default_factory=dict, repr=False)
    """Per order, the number of a confirmation saved (or being saved) in KV that the
    outbox may not hold yet."""

    async def confirm(self, cfg: ErpConnection, event: erp_pb2.WorkOrderEvent, final: bool) -> None:
        """Enqueue what was made since the last confirmation (idempotency key order:n).
        One at a time, and a number saved in KV is in the outbox before the next is taken;
        nothing follows a final one."""
        async with self._lock:
            self.fence(cfg.name)
            with _doing(f"reading what was confirmed of {event.erp_id} from KV"):
                done = await saved_confirmed(self.kv, event.erp_id)
            last = _saved(done)
            if self._unsent.get(event.erp_id) == int(done["n"]) and last is not None:
                await self._send(cfg, last)  # the outbox drops a repeat by its msg id
            self._unsent.pop(event.erp_id, None)  # sent, or never saved: its number is free
            if last is not None and last.final:
                return
            await self._next(cfg, event, done, final)

    async def _next(
        self, cfg: ErpConnection, event: erp_pb2.WorkOrderEvent, done: dict[str, Any], final: bool
    ) -> None:
        good = event.good_quantity - done["good"]
        scrap = event.scrap_quantity - done["scrap"]
        if not final and good <= 0 and scrap <= 0:
            return
        n = int(done["n"]) + 1
        times = self.times.get(event.erp_id, {})
        confirmation = _confirmation(cfg.name, event, n, (good, scrap), times, final)
        # remember first: after a crash the same key is re-sent, never a new one
        self._unsent[event.erp_id] = n  # before the put: a put that timed out may be stored
        with _doing(f"saving confirmation {confirmation.idempotency_key} in KV"):
            await save_confirmed(self.kv, confirmation)
        self.fence(cfg.name)  # lost meanwhile: the new holder re-sends it on taking
        await self._send(cfg, confirmation)

    async def _send(self, cfg: ErpConnection, confirmation: erp_pb2.Confirmation) -> None:
        """Enqueue a saved confirmation and tell the line."""
        key = confirmation.idempotency_key
        with _doing(f"enqueueing confirmation {key} into {streams.ERP_OUTBOX.name}"):
            await self.outbox.enqueue(confirmation)
        self._unsent.pop(confirmation.work_order_erp_id, None)
        await self.bus.publish(subjects.confirmation(cfg.site, cfg.line), confirmation)

    async def resend_last(self, orders: Iterable[erp_pb2.WorkOrderEvent]) -> None:
        """On taking a connection: the last confirmation stored of each of its ``orders``,
        maybe never enqueued, goes out again (the outbox and the connector both drop it if
        it had been)."""
        for order in orders:
            last = _saved(await saved_confirmed(self.kv, order.erp_id))
            if last is not None:
                await self.outbox.enqueue(last)

    async def due(self, cfg: ErpConnection, event: erp_pb2.WorkOrderEvent, now: float) -> None:
        """A periodic confirmation. When NATS is lost or slow (the KV or the outbox) or the
        connection moved to another replica meanwhile, the loop goes on and the order stays
        due, so it is tried again the next second."""
        try:
            await self.confirm(cfg, event, final=False)
        except (NatsError, PlantbusError, OSError) as err:
            self._failed(event.erp_id, err)
            return
        self.last[event.erp_id] = now
        if self.errors.pop(event.erp_id, None):
            self.log.info("work order %s confirmed again", event.erp_id)

    def _failed(self, erp_id: str, err: Exception) -> None:
        """Keep the error for health; log each distinct one once."""
        what = "; ".join(getattr(err, "__notes__", ())) or "confirming"
        message = f"{what} failed: {type(err).__name__}: {describe(err)}"
        if self.errors.get(erp_id) == message:
            return
        self.errors[erp_id] = message
        self.log.warning("work order %s: %s; trying again every second", erp_id, message)
