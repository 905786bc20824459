"""ERP sync through the B2MML connector with a real nats-server: orders in, confirmations
out exactly once across an ERP outage and a service restart, dead letters and retry,
polling that survives hostile files and a connector that raises anything, and
confirmations numbered without gaps across an outbox stream that refuses them."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from plantbus_b2mml.connector import REJECTED, B2mmlConnector
from plantbus_b2mml.readback import booked, performances
from plantbus_b2mml.schedule import schedule_xml

from plantbus.erp.service import ErpService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import erp_pb2, oee_pb2

M1 = "s/a/l/m1"


def config(tmp: Path) -> dict[str, Any]:
    return {
        "sites": [
            {
                "name": "s",
                "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
            }
        ],
        "erp": [
            {
                "name": "erp1",
                "connector": "b2mml",
                "site": "s",
                "line": "l",
                "poll_interval_s": 0.2,
                "confirm_interval_s": 0.3,
                "settings": {"inbox": str(tmp / "inbox"), "outbox": str(tmp / "outbox")},
            }
        ],
    }


@pytest.fixture
async def exchange(bus: Bus, tmp_path: Path) -> AsyncIterator[Path]:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "schedule.xml").write_bytes(
        schedule_xml([WorkOrder("WO-1", "WO-1", "SHAFT", "Shaft", 10, ideal_cycle_time_s=2.0)])
    )
    await put_config(bus, config(tmp_path))
    yield tmp_path


async def produce(bus: Bus, total: int, good: int) -> None:
    snap = oee_pb2.OeeSnapshot(
        scope=M1, work_order="WO-1", order_total_count=total, order_good_count=good, state="running"
    )
    await bus.publish("plantbus.v1.oee.s.a.l.m1", snap)


async def counted(bus: Bus, erp: ErpService, total: int, good: int) -> None:
    """Publish the order's counts until the service has them (as the OEE service re-sends
    its snapshots): one core-NATS message can pass a subscription still being made."""

    async def taken() -> bool:
        await produce(bus, total, good)
        return erp.orders["WO-1"].good_quantity == good

    await wait_until(taken, timeout=30, interval=0.2, message=f"{good} good parts counted")


def final(outbox: Path) -> bool:
    return any(p.final for p in performances(outbox, "WO-1"))


def confirmations(outbox: Path) -> list[tuple[str, float, float]]:
    return [(p.name, p.good, p.scrap) for p in performances(outbox, "WO-1")]


def connector(erp: ErpService) -> B2mmlConnector:
    conn = erp.connections["erp1"].connector
    assert isinstance(conn, B2mmlConnector)
    return conn


async def test_orders_in_confirmations_out_exactly_once(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    outbox = exchange / "outbox"
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        order = await wait_until(lambda: erp.orders.get("WO-1"), timeout=30)
        assert (order.quantity, order.ideal_cycle_time_s, order.status) == (10, 2.0, "released")
        await erp.start_order("WO-1", M1, "tester")
        assert (outbox / "WO-1.status").read_text() == "running\n"
        await counted(bus, erp, 4, 3)
        await wait_until(
            lambda: confirmations(outbox) == [("WO-1_1.xml", 3, 1)],
            message="first partial confirmation",
        )
        # the ERP goes away (what it booked so far is kept aside): its directory becomes a file
        kept = exchange / "booked"
        shutil.copytree(outbox, kept)
        shutil.rmtree(outbox)
        outbox.write_text("not a directory")
        await counted(bus, erp, 7, 6)
        conn = erp.connections["erp1"]
        await wait_until(lambda: not conn.worker.reachable, timeout=30, message="ERP seen as down")
    # the service is stopped while a confirmation is pending; the ERP comes back
    outbox.unlink()
    outbox.mkdir()
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: len(confirmations(outbox)) == 1, timeout=40)
        assert confirmations(outbox) == [("WO-1_2.xml", 3, 0)]  # 6 good - 3 confirmed
        await counted(bus, erp, 10, 9)
        await erp.complete("WO-1", "tester")
        await wait_until(lambda: final(outbox), timeout=30, message="final confirmation")
        assert (outbox / "WO-1.status").read_text() == "completed\n"
    # in the ERP: every part confirmed exactly once (9 good, 1 scrap in total)
    (good_before, scrap_before), (good, scrap) = booked(kept, "WO-1"), booked(outbox, "WO-1")
    assert (good_before + good, scrap_before + scrap) == (9, 1)


async def test_rejected_confirmation_is_dead_lettered_and_retried(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    outbox = exchange / "outbox"
    schedule = exchange / "inbox" / "schedule.xml"
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"))
        await erp.start_order("WO-1", M1, "tester")
        saved = schedule.read_bytes()
        schedule.unlink()  # the ERP dropped the order
        await wait_until(lambda: not connector(erp).orders)
        await counted(bus, erp, 2, 2)
        letters = await wait_until(erp.outbox.dead_letters, message="dead letter")
        assert "WO-1 is not in the ERP's schedule" in letters[0].error
        assert not list(outbox.glob("WO-1_*.xml"))
        schedule.write_bytes(saved)  # fixed in the ERP
        await wait_until(lambda: connector(erp).orders)
        assert await erp.outbox.retry(letters[0].confirmation.idempotency_key)
        await wait_until(lambda: confirmations(outbox) == [("WO-1_1.xml", 2, 0)])
        assert await erp.outbox.dead_letters() == []


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<OperationsSchedule xmlns="http://www.mesa.org/xml/B2MML">&b;</OperationsSchedule>'
)


def second_order(inbox: Path) -> None:
    (inbox / "next.xml").write_bytes(
        schedule_xml([WorkOrder("WO-2", "WO-2", "FLANGE", "Flange", 4, uom="pcs")], "next")
    )


async def test_a_hostile_file_is_moved_aside_and_polling_goes_on(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    inbox = exchange / "inbox"
    (inbox / "bomb.xml").write_bytes(BOMB)
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"), message="the good file read")
        [reason] = await wait_until(lambda: list((inbox / REJECTED).glob("*-bomb.xml.reason")))
        assert "bomb.xml: declares a DTD (<!DOCTYPE b>)" in reason.read_text()
        second_order(inbox)
        await wait_until(lambda: erp.orders.get("WO-2"), message="polling goes on")
        assert erp.orders["WO-2"].uom == "pcs"
        assert erp.health() == (True, "")


async def test_a_connector_raising_anything_does_not_stop_polling(
    bus: Bus, nats_url: str, exchange: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"))
        b2mml = connector(erp)
        real, calls = b2mml.list_work_orders, []

        async def broken(cursor: str | None) -> Any:
            calls.append(cursor)
            raise KeyError("bug in the connector")

        b2mml.list_work_orders = broken  # type: ignore[method-assign]
        await wait_until(lambda: len(calls) >= 3, message="polled on after the error")
        serving, detail = erp.health()
        assert serving and detail == "ERP erp1: KeyError: 'bug in the connector'"
        assert erp.connections["erp1"].worker.last_error == "KeyError: 'bug in the connector'"
        logged = [r for r in caplog.records if "bug in the connector" in r.getMessage()]
        assert len(logged) == 1 and logged[0].exc_info, "logged once, with its traceback"
        b2mml.list_work_orders = real  # type: ignore[method-assign]
        second_order(exchange / "inbox")
        await wait_until(lambda: erp.orders.get("WO-2"), message="polling recovered")
        await wait_until(lambda: erp.health() == (True, ""), message="health clear again")


async def outbox_max_msg_size(bus: Bus, size: int) -> None:
    """Set the outbox stream's largest message (1 byte: it refuses every confirmation)."""
    info = await bus.js.stream_info(streams.ERP_OUTBOX.name)
    info.config.max_msg_size = size
    await bus.js.update_stream(info.config)


async def test_a_refused_enqueue_is_resent_before_the_next_number(
    bus: Bus, nats_url: str, exchange: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = exchange / "outbox"
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"))
        await erp.start_order("WO-1", M1, "tester")
        await counted(bus, erp, 2, 2)
        await wait_until(lambda: confirmations(outbox) == [("WO-1_1.xml", 2, 0)])
        enqueue, tried = erp.outbox.enqueue, []

        async def watched(confirmation: erp_pb2.Confirmation, msg_id: str = "") -> None:
            tried.append(confirmation.idempotency_key)
            await enqueue(confirmation, msg_id)

        erp.outbox.enqueue = watched  # type: ignore[method-assign]
        await outbox_max_msg_size(bus, 1)  # the stream refuses every enqueue
        try:
            await counted(bus, erp, 4, 4)
            await wait_until(lambda: erp.health()[1], message="the failure in health")
            await counted(bus, erp, 6, 5)  # more parts while #2 is saved but not enqueued
            before = len(tried)
            await wait_until(lambda: len(tried) > before, message="enqueue tried again")
        finally:
            await outbox_max_msg_size(bus, -1)
        assert set(tried) == {"WO-1:2"}, "no new number while #2 is not in the outbox"
        serving, detail = erp.health()
        assert serving and detail.startswith(
            "work order WO-1: enqueueing confirmation WO-1:2 into PLANTBUS_ERP_OUTBOX failed: "
        ), detail
        assert "message size exceeds maximum allowed" in detail
        await wait_until(lambda: len(confirmations(outbox)) == 3, message="#2 and #3 booked")
        await wait_until(lambda: erp.health() == (True, ""), message="health clear again")
        await counted(bus, erp, 7, 6)
        await erp.complete("WO-1", "tester")
        await wait_until(lambda: final(outbox), message="final confirmation")
    assert [name for name, _, _ in confirmations(outbox)] == [f"WO-1_{n}.xml" for n in (1, 2, 3, 4)]
    assert booked(outbox, "WO-1") == (6, 1)
    logged = [r for r in caplog.records if "WO-1:2 into PLANTBUS_ERP_OUTBOX" in r.getMessage()]
    assert len(logged) == 1, "logged once"


class _Escaped(BaseException):
    """Not an Exception: what no plugin-boundary handler catches."""


@contextlib.asynccontextmanager
async def with_order(nats_url: str, exchange: Path) -> AsyncIterator[ErpService]:
    """The service, once it has the order WO-1."""
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"))
        yield erp


async def test_a_poll_loop_that_dies_shows_in_health(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    async with with_order(nats_url, exchange) as erp:
        assert erp.reported_health()[0]

        async def escapes(cursor: str | None) -> Any:
            raise _Escaped("out of the poll loop")

        connector(erp).list_work_orders = escapes  # type: ignore[method-assign]
        await wait_until(lambda: not erp.reported_health()[0], message="not serving")
        detail = erp.reported_health()[1]
        assert detail.startswith("background task died: erp-poll-erp1: _Escaped("), detail


async def test_a_connector_bug_in_delivery_shows_in_health(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    async with with_order(nats_url, exchange) as erp:
        await erp.start_order("WO-1", M1, "tester")

        async def broken(confirmation: Any) -> str:
            raise KeyError("bug in the connector")

        connector(erp).post_confirmation = broken  # type: ignore[method-assign]
        await counted(bus, erp, 2, 2)
        await wait_until(lambda: not erp.reported_health()[0], message="not serving")
        detail = erp.reported_health()[1]
        assert detail == "background task died: outbox-erp-erp1: KeyError('bug in the connector')"
        assert await erp.outbox.pending("erp1") == 1, "the confirmation waits in the outbox"
