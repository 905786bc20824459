"""The ERP connector conformance kit: one set of tests every connector plugin must pass.

A vendor subclasses :class:`ConnectorConformance` in a test module, names the connector
class and provides a ``conformance_erp`` fixture that yields a real ERP (or its test
server) behind the small :class:`ConformanceErp` interface. The inherited tests then
prove the connector keeps the contract the ERP service and its outbox rely on:

- released orders come in, and an order released after a poll comes with the next one;
- a confirmation posted twice (a redelivery) is booked once and returns the same
  reference, and a later one adds to it;
- a confirmation for an order the ERP does not have is ``ErpRejected`` with a message
  (dead-lettered, not retried forever);
- while the ERP is down ``open``, ``list_work_orders``, ``set_status`` and
  ``post_confirmation`` raise ``ErpUnavailable`` (retried, never dead-lettered) and the
  same connector works again once the ERP is back;
- ``close`` is safe twice, before ``open`` and after a failed ``open``.

See docs/writing-a-driver.md ("Connectors and notifiers").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Protocol

import pytest

from plantbus.sdk.connector import Confirmation, ErpConnector, WorkOrderStatus
from plantbus.sdk.errors import ErpRejected, ErpUnavailable
from plantbus.testing.plugin_kit import PluginConformance

__all__ = ["ConformanceErp", "ConnectorConformance"]

_START = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


class ConformanceErp(Protocol):
    """A real ERP the kit can add orders to, read bookings from, and stop and start."""

    @property
    def settings(self) -> dict[str, Any]:
        """Connector settings that reach this ERP."""
        ...

    @property
    def unknown_order(self) -> str:
        """A well-formed work-order id that the ERP does not have."""
        ...

    async def release(self, reference: str, quantity: float) -> str:
        """Create and release a work order; return its ``erp_id`` as the connector lists it."""
        ...

    async def booked(self, erp_id: str) -> tuple[float, float]:
        """Good and scrap quantities the ERP holds as confirmed for the order."""
        ...

    async def stop(self) -> None:
        """Make the ERP unreachable (it keeps its data)."""
        ...

    async def start(self) -> None:
        """Make it reachable again at the same place."""
        ...


class ConnectorConformance(PluginConformance):
    """Base class of a connector's conformance tests; subclass it as ``TestMyConnector``."""

    connector_class: ClassVar[type[ErpConnector[Any]]]
    """The connector under test."""

    def plugin_class(self) -> type[ErpConnector[Any]]:
        """``connector_class``."""
        return self.connector_class

    @pytest.fixture
    async def conformance_erp(self) -> AsyncIterator[ConformanceErp]:
        """Override: start the ERP, yield it, stop it."""
        raise NotImplementedError("define a conformance_erp fixture in your test class")
        yield  # pragma: no cover - makes this an async generator

    def make_connector(self, erp: ConformanceErp) -> ErpConnector[Any]:
        """A fresh connector, built as the ERP service builds it."""
        return self.connector_class(self.settings_of(erp.settings))

    @pytest.fixture
    async def connector(self, conformance_erp: ConformanceErp) -> AsyncIterator[ErpConnector[Any]]:
        """An open connector, closed after the test."""
        connector = self.make_connector(conformance_erp)
        await self._call(connector.open())
        try:
            yield connector
        finally:
            await self._call(connector.close())

    async def _listed(self, connector: ErpConnector[Any], erp_id: str, cursor: str | None) -> str:
        """Poll until ``erp_id`` comes in (a connector may see a change one poll late)."""
        for _ in range(3):
            orders, after = await self._call(connector.list_work_orders(cursor))
            if erp_id in {o.erp_id for o in orders}:
                return after
            cursor = after
        raise AssertionError(f"order {erp_id} never listed")

    @staticmethod
    def confirmation(erp_id: str, n: int, good: float, scrap: float, **totals: Any) -> Confirmation:
        """The ``n``-th confirmation of an order, as the ERP service makes it."""
        return Confirmation(
            idempotency_key=f"{erp_id}:{n}",
            work_order_erp_id=erp_id,
            good_quantity=good,
            scrap_quantity=scrap,
            start=_START,
            end=_START + dt.timedelta(minutes=n),
            machine="kit/area/line/m1",
            run_seconds=60.0 * n,
            sequence=n,
            **totals,
        )

    async def test_released_orders_come_in_then_new_ones(
        self, conformance_erp: ConformanceErp, connector: ErpConnector[Any]
    ) -> None:
        """A first poll lists what is released; a later one what was released since."""
        first = await conformance_erp.release("KIT-1", 5)
        orders, cursor = await self._call(connector.list_work_orders(None))
        listed = {o.erp_id: o for o in orders}
        assert first in listed, f"{first} not in {sorted(listed)}"
        assert listed[first].quantity == 5 and listed[first].uom
        assert listed[first].status == WorkOrderStatus.RELEASED
        second = await conformance_erp.release("KIT-2", 3)
        await self._listed(connector, second, cursor)

    async def test_confirmations_are_booked_once(
        self, conformance_erp: ConformanceErp, connector: ErpConnector[Any]
    ) -> None:
        """A redelivered confirmation books nothing and answers the same reference."""
        order = await conformance_erp.release("KIT-3", 10)
        await self._listed(connector, order, None)
        await self._call(connector.set_status(order, WorkOrderStatus.RUNNING))
        first = self.confirmation(order, 1, 3, 1, total_good=3, total_scrap=1)
        reference = await self._call(connector.post_confirmation(first))
        assert reference, "post_confirmation returns the ERP's reference"
        assert await self._call(connector.post_confirmation(first)) == reference
        assert await conformance_erp.booked(order) == (3, 1)
        last = self.confirmation(order, 2, 4, 0, total_good=7, total_scrap=1, final=True)
        await self._call(connector.post_confirmation(last))
        await self._call(connector.post_confirmation(last))
        assert await conformance_erp.booked(order) == (7, 1)

    async def test_unknown_order_is_rejected(
        self, conformance_erp: ConformanceErp, connector: ErpConnector[Any]
    ) -> None:
        """The ERP refusing is ErpRejected (dead-lettered), with a message naming the order."""
        await self._call(connector.list_work_orders(None))
        unknown = conformance_erp.unknown_order
        with pytest.raises(ErpRejected) as refused:
            await self._call(connector.post_confirmation(self.confirmation(unknown, 1, 1, 0)))
        assert unknown in str(refused.value), f"name the order: {refused.value}"

    async def test_erp_down_is_unavailable_and_recovers(
        self, conformance_erp: ConformanceErp, connector: ErpConnector[Any]
    ) -> None:
        """ErpUnavailable (retried) while down, for every call; the same connector works after."""
        order = await conformance_erp.release("KIT-4", 10)
        cursor = await self._listed(connector, order, None)
        await self._call(connector.set_status(order, WorkOrderStatus.RUNNING))
        await conformance_erp.stop()
        with pytest.raises(ErpUnavailable):
            await self._call(connector.list_work_orders(cursor))
        with pytest.raises(ErpUnavailable):  # (completed may be booked with the last parts)
            await self._call(connector.set_status(order, WorkOrderStatus.RUNNING))
        confirmation = self.confirmation(order, 1, 2, 0, total_good=2)
        with pytest.raises(ErpUnavailable):
            await self._call(connector.post_confirmation(confirmation))
        fresh = self.make_connector(conformance_erp)
        with pytest.raises(ErpUnavailable):
            await self._call(fresh.open())
        await self._call(fresh.close())
        await conformance_erp.start()
        await self._call(connector.list_work_orders(cursor))
        await self._call(connector.post_confirmation(confirmation))
        assert await conformance_erp.booked(order) == (2, 0)

    async def test_close_is_idempotent(self, conformance_erp: ConformanceErp) -> None:
        """close() before open, twice, and after use never raises."""
        connector = self.make_connector(conformance_erp)
        await self._call(connector.close())
        await self._call(connector.open())
        await self._call(connector.list_work_orders(None))
        await self._call(connector.close())
        await self._call(connector.close())
