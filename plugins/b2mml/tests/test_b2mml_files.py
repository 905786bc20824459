"""The B2MML connector on real files: unusable files moved aside with their reason while
the others are read, confirmations in the order's own unit, and every file it writes
valid against the MESA B2MML V0700 schemas."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from plantbus_b2mml.connector import REJECTED, B2mmlConnector, B2mmlSettings
from plantbus_b2mml.readback import performances
from plantbus_b2mml.schedule import schedule_xml

from plantbus.sdk.connector import Confirmation, WorkOrder

ROOT = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
GOOD = schedule_xml([WorkOrder("WO-1", "WO-1", "RESIN-7", "Resin", 12.5, uom="kg")])
V0500 = GOOD.replace(b"OperationsSchedule", b"ProductionSchedule")
BAD_FILES = {
    "bomb.xml": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;">]><OperationsSchedule>&lol2;</OperationsSchedule>',
        "declares a DTD (<!DOCTYPE lolz>)",
    ),
    "torn.xml": (GOOD[: len(GOOD) // 2], "not well-formed XML"),
    "old.xml": (V0500, "a ProductionSchedule (B2MML V0500 or older)"),
    "other.xml": (b"<invoice/>", "expected a B2MML V0700 OperationsSchedule, found invoice"),
    "noqty.xml": (GOOD.replace(b"<QuantityString>12.5</QuantityString>", b""), "lacks an ID"),
    "nan.xml": (GOOD.replace(b">12.5<", b">lots<"), "OperationsRequest WO-1: could not convert"),
}


@pytest.fixture
async def connector(tmp_path: Path) -> AsyncIterator[B2mmlConnector]:
    settings = B2mmlSettings(inbox=tmp_path / "inbox", outbox=tmp_path / "outbox")
    conn = B2mmlConnector(settings)
    await conn.open()
    yield conn
    await conn.close()


def confirmation(
    n: int, good: float, scrap: float, final: bool = False, order: str = "WO-1"
) -> Confirmation:
    end = NOW + dt.timedelta(minutes=n)
    return Confirmation(
        f"{order}:{n}", order, good, scrap, NOW, end, "s/a/l/m1", 60.0 * n, final=final, sequence=n
    )


async def test_unusable_files_are_moved_aside_with_their_reason_once(
    connector: B2mmlConnector, caplog: pytest.LogCaptureFixture
) -> None:
    (connector.inbox / "good.xml").write_bytes(GOOD)
    for name, (data, _) in BAD_FILES.items():
        (connector.inbox / name).write_bytes(data)
    orders, cursor = await connector.list_work_orders(None)
    assert [o.erp_id for o in orders] == ["WO-1"]
    assert sorted(p.name for p in connector.inbox.glob("*.xml")) == ["good.xml"]
    aside = connector.inbox / REJECTED
    for name, (data, reason) in BAD_FILES.items():
        [moved] = aside.glob(f"*-{name}")
        assert moved.read_bytes() == data  # kept as it came, for the ERP's people
        assert reason in moved.with_name(moved.name + ".reason").read_text(), name
        assert sum(name in r.getMessage() and reason in r.getMessage() for r in caplog.records) == 1
    # polling goes on: a new file is read, nothing is reported again
    (connector.inbox / "more.xml").write_bytes(GOOD.replace(b"WO-1", b"WO-2"))
    logged = len(caplog.records)
    orders, _ = await connector.list_work_orders(cursor)
    assert sorted(o.erp_id for o in orders) == ["WO-1", "WO-2"]
    assert len(caplog.records) == logged


async def test_a_file_that_cannot_be_moved_is_reported_once_and_skipped(
    connector: B2mmlConnector, caplog: pytest.LogCaptureFixture
) -> None:
    (connector.inbox / REJECTED).write_text("a file where the folder should be")
    (connector.inbox / "torn.xml").write_bytes(b"<Operations")
    (connector.inbox / "good.xml").write_bytes(GOOD)
    orders, cursor = await connector.list_work_orders(None)
    assert [o.erp_id for o in orders] == ["WO-1"]
    (connector.inbox / "more.xml").write_bytes(GOOD.replace(b"WO-1", b"WO-2"))
    orders, _ = await connector.list_work_orders(cursor)
    assert sorted(o.erp_id for o in orders) == ["WO-1", "WO-2"]
    reports = [r.getMessage() for r in caplog.records if "torn.xml" in r.getMessage()]
    assert len(reports) == 1 and "cannot be moved" in reports[0], reports


async def test_an_oversized_file_is_rejected_unread(tmp_path: Path) -> None:
    settings = B2mmlSettings(inbox=tmp_path / "in", outbox=tmp_path / "out", max_file_mb=0.0001)
    connector = B2mmlConnector(settings)
    await connector.open()
    (connector.inbox / "big.xml").write_bytes(GOOD + b" " * 200)
    orders, _ = await connector.list_work_orders(None)
    assert orders == []
    [reason] = (connector.inbox / REJECTED).glob("*.reason")
    assert "more than max_file_mb" in reason.read_text()


async def test_confirmations_carry_the_orders_own_unit(connector: B2mmlConnector) -> None:
    (connector.inbox / "s.xml").write_bytes(GOOD)
    [order], _ = await connector.list_work_orders(None)
    assert (order.quantity, order.uom) == (12.5, "kg")
    await connector.post_confirmation(confirmation(1, 3.5, 0.25))
    [written] = performances(connector.outbox, "WO-1")
    assert (written.good, written.scrap, written.units) == (3.5, 0.25, {"kg"})


def _xsd_dir() -> Path | None:
    """The MESA schemas: $PLANTBUS_B2MML_XSD, else shared/ beside the clone (as in CI)."""
    env = os.environ.get("PLANTBUS_B2MML_XSD")
    candidate = Path(env) if env else ROOT.parent / "shared" / "b2mml-v0700"
    return candidate if (candidate / "B2MML-OperationsPerformance.xsd").is_file() else None


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    found = _xsd_dir()
    if found is None:
        pytest.skip(
            f"B2MML V0700 XSDs not found in {ROOT.parent / 'shared' / 'b2mml-v0700'} "
            "(CI keeps shared/ beside the clone; or set PLANTBUS_B2MML_XSD to their folder)"
        )
    xmlschema = pytest.importorskip("xmlschema")
    return {
        kind: xmlschema.XMLSchema(str(found / f"B2MML-{kind}.xsd"))
        for kind in ("OperationsSchedule", "OperationsPerformance")
    }


async def test_every_file_written_is_valid_b2mml_v0700(
    connector: B2mmlConnector, schemas: dict[str, Any]
) -> None:
    await connector.seed_demo()
    [demo] = connector.inbox.glob("*.xml")
    schemas["OperationsSchedule"].validate(str(demo))
    await connector.list_work_orders(None)
    order = next(iter(connector.orders))
    for n, (good, scrap, final) in enumerate([(4, 0, False), (3, 1, False), (0, 0, True)], 1):
        await connector.post_confirmation(confirmation(n, good, scrap, final, order))
    written = sorted(connector.outbox.glob("*.xml"))
    assert len(written) == 3
    for path in written:
        schemas["OperationsPerformance"].validate(str(path))
    # the check has teeth: the documents written before V0700 do not pass
    assert not schemas["OperationsSchedule"].is_valid(V0500.decode())
