"""One configured ERP connection at run time: its connector, its outbox worker and its
polling (the cursor, the last poll, the last poll's failure)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from plantbus.config.erp import ErpConnection
from plantbus.erp.outbox import Outbox, OutboxWorker
from plantbus.kit.secrets import plugin_settings
from plantbus.kit.supervisor import TaskSet
from plantbus.kit.tasks import cancel
from plantbus.plugins import PluginRegistry
from plantbus.sdk.connector import ErpConnector, WorkOrder
from plantbus.sdk.errors import PlantbusError, describe

__all__ = ["Connection", "open_connection"]

Take = Callable[[WorkOrder], Awaitable[None]]
"""What is done with each order a poll lists."""
Step = Callable[[], Awaitable[None]]


def open_connection(
    plugins: PluginRegistry[ErpConnector[Any]], config: ErpConnection, outbox: Outbox
) -> Connection:
    """The connection of ``config``, its connector made (no I/O yet); PlantbusError (no
    such plugin) or ValueError (settings the connector refuses) when it cannot run."""
    cls = plugins.get(config.connector)
    connector = cls(plugin_settings(cls, config.settings))
    worker = OutboxWorker(outbox, config.name, connector, redelivery_s=config.redelivery_s)
    return Connection(config, connector, worker)


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
        """The polling task while this replica runs the connection."""
        self.opened = False

    async def resume(
        self, tasks: TaskSet, take: Take, demo: Step | None, log: logging.Logger
    ) -> None:
        """Deliver the outbox and poll in ``tasks`` (this replica runs the connection now).
        In the demo (``demo``: its step, run after each poll) the ERP is seeded first."""
        await self.worker.start(tasks)
        loop = self._poll_loop(take, demo, log)
        self.task = tasks.spawn(loop, name=f"erp-poll-{self.config.name}")

    async def pause(self) -> None:
        """Stop polling and delivering (another replica runs it, or it closes)."""
        await cancel(self.task)
        self.task = None
        await self.worker.stop()

    async def _poll_loop(self, take: Take, demo: Step | None, log: logging.Logger) -> None:
        while True:
            try:
                await self.poll(take, seed=demo is not None)
                if demo is not None:
                    await demo()
            except Exception as err:  # noqa: BLE001 - the plugin boundary: whatever a connector (or NATS while publishing) raises, polling goes on
                self.poll_failed(err, log)
            else:
                self.polled(log)
            await asyncio.sleep(self.config.poll_interval_s)

    async def poll(self, take: Take, seed: bool = False) -> None:
        """One poll: open the connector first (and ``seed`` a demo ERP), then ``take`` every
        order changed since the cursor. The cursor moves only once all were taken, so a
        failed poll is read again in full."""
        if not self.opened:
            await self.connector.open()
            if seed:
                await self.connector.seed_demo()
            self.opened = True
        orders, cursor = await self.connector.list_work_orders(self.cursor)
        for order in orders:
            await take(order)
        self.cursor, self.last_poll = cursor, time.time()

    def polled(self, log: logging.Logger) -> None:
        """A poll succeeded: its failure, if any, is over."""
        if self.poll_error:
            log.info("ERP %s polled again", self.config.name)
            self.poll_error = ""

    def poll_failed(self, err: Exception, log: logging.Logger) -> None:
        """Keep the error for health and SyncStatus; log each distinct one once."""
        expected = isinstance(err, PlantbusError)
        message = describe(err) if expected else f"{type(err).__name__}: {describe(err)}"
        self.worker.last_error = message
        if message == self.poll_error:
            return
        self.poll_error = message
        if expected:
            log.warning("ERP %s poll failed: %s", self.config.name, message)
        else:  # a connector's bug: its traceback helps its author
            log.error(
                "ERP %s poll failed (connector %s): %s",
                self.config.name,
                self.config.connector,
                message,
                exc_info=err,
            )

    async def close(self, log: logging.Logger) -> None:
        """Stop polling and delivering, then close the connector."""
        await self.pause()
        try:
            await self.connector.close()
        except Exception as err:  # noqa: BLE001 - the plugin boundary: one connector's close must not stop the others'
            log.warning(
                "ERP %s: closing connector %s failed: %s",
                self.config.name,
                self.config.connector,
                describe(err),
            )
